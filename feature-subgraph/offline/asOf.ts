import { sqlIdent as id, sqlString, MeshError, ErrorCode, type DomainInfo } from '../../platform/index.js';
import { loadContract, type DataContract } from '../../governance/index.js';

/**
 * When a curated dataset's facts became known, as its contract declares them (ODCS `customProperties`):
 * - on the dataset, `knownAt`: a SQL expression giving when a row became known (`placed_at`); a row is absent before;
 * - on a column, `knownAt`: when its value became known (`cancelled_at`); it reads NULL before, a state not yet
 *   reached;
 * - on a column, `asOf`: the value as it stood at `${asOf}` (a status rebuilt from the times it changed).
 * Columns with neither are fixed when their row becomes known. Expressions may name the dataset itself and other
 * curated datasets as `<domain>.<dataset>`; those resolve to their own as-of views.
 */
export interface KnownAt {
  domain: string;
  dataset: string;
  rows?: string;
  columns: Record<string, { knownAt?: string; asOf?: string }>;
}

const custom = (props: { property?: string; value?: unknown }[] | undefined, name: string): string | undefined => {
  const v = props?.find((p) => p.property === name)?.value;
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
};

export function knownAtOf(domain: string, contract: DataContract): KnownAt[] {
  return contract.schema.map((o) => ({
    domain,
    dataset: o.name,
    rows: custom(o.customProperties, 'knownAt'),
    columns: Object.fromEntries(
      (o.properties ?? []).flatMap((p) => {
        const knownAt = custom(p.customProperties, 'knownAt');
        const asOf = custom(p.customProperties, 'asOf');
        return knownAt || asOf ? [[p.name, { knownAt, asOf }]] : [];
      }),
    ),
  }));
}

export function loadKnownAt(domains: DomainInfo[]): Map<string, KnownAt> {
  return new Map(
    domains.flatMap((d) =>
      knownAtOf(d.name, loadContract(d.contractFile, d.name)).map((k): [string, KnownAt] => [
        `${d.name}.${k.dataset}`,
        k,
      ]),
    ),
  );
}

/**
 * The SELECT that reads `source` (the published Parquet) as it was known at `at`: rows known later are left out,
 * columns whose value came later read NULL or their state at the time. Without a declaration for the dataset, it is
 * refused: an as-of proof cannot vouch for data it cannot date.
 */
export function asOfSelect(k: KnownAt | undefined, name: string, source: string, columns: string[], at: Date): string {
  if (!k?.rows)
    throw new MeshError(
      ErrorCode.CONTRACT_INVALID,
      `${name}: its contract declares no knownAt for the dataset: when its rows became known is unknown`,
    );
  const t = `CAST(${sqlString(at.toISOString())} AS TIMESTAMPTZ)`;
  const expr = (e: string) => `(${e.replaceAll('${asOf}', t)})`;
  const cols = columns.map((c) => {
    const rule = k.columns[c];
    if (rule?.asOf) return `${expr(rule.asOf)} AS ${id(c)}`;
    if (rule?.knownAt) return `CASE WHEN ${expr(rule.knownAt)} <= ${t} THEN ${id(c)} END AS ${id(c)}`;
    return id(c);
  });
  // The dataset's own name resolves to the unfiltered source inside its expressions, as a correlated row.
  return `SELECT ${cols.join(', ')} FROM ${source} AS ${id(k.dataset)} WHERE ${expr(k.rows)} <= ${t}`;
}
