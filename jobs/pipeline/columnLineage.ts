import {
  ErrorCode,
  isMeshError,
  MeshError,
  sqlLineage,
  type ColumnEdge,
  type ColumnTransformation,
  type Duck,
} from '../../platform/index.js';
import type { PipelineSpec, SourceSpec } from './spec.js';

/** A raw field of one of the domain's sources (a JSON path or a CSV column), and how it reaches a curated column. */
export type RawFieldEdge = { source: string; field: string } & ColumnTransformation;

/** A curated dataset's column lineage, down to raw fields. */
export interface DatasetColumnLineage {
  /** Each column in order, with the edges that are its own. */
  columns: { name: string; edges: RawFieldEdge[] }[];
  /** The INDIRECT edges every column has: what decides which rows the dataset holds. */
  dataset: RawFieldEdge[];
}

/** Columns the pipeline reads into `input` beside the source's own, and drops before anything is curated. */
const FILE_COLUMNS = ['_file', '_line', '_raw'];
const STAGE_ONLY = new Set(['_reject_reason', ...FILE_COLUMNS]);

/** What a domain declares by hand in its lineage.yaml (`columns:`), for SQL the analysis cannot follow. */
export type DeclaredLineage = Map<string, Map<string, RawFieldEdge[]>>;

export interface PipelineColumnLineage {
  datasets: Map<string, DatasetColumnLineage>;
  /** What could not be derived and was not declared, and declarations that disagree with what is derived. */
  problems: string[];
}

/**
 * Column lineage of a domain's pipeline, derived from its SQL: each stage from the raw fields it types, each curated
 * dataset from the staged columns it reads, composed down to raw fields. The pipeline's own steps count too: a record
 * whose stage sets `_reject_reason` is quarantined (what the reason reads decides every row), and records with the same
 * key are de-duplicated (the key decides every row).
 *
 * SQL the analysis cannot follow is never guessed at: the dataset's lineage is what lineage.yaml declares for every
 * one of its columns (`columns` of the contract), else it has none and a problem says why. Where both exist, the
 * declaration must match what is derived.
 */
export async function pipelineColumnLineage(
  duck: Duck,
  spec: Pick<PipelineSpec, 'domain' | 'sources' | 'datasets'>,
  hand: { declared?: DeclaredLineage; columns?: (dataset: string) => string[] } = {},
): Promise<PipelineColumnLineage> {
  const problems: string[] = [];
  const staged = new Map<string, Map<string, RawFieldEdge[]>>();
  for (const source of spec.sources) {
    try {
      staged.set(source.name, await stageLineage(duck, source));
    } catch (err) {
      if (!isMeshError(err, ErrorCode.LINEAGE_UNDERIVABLE)) throw err;
      problems.push(`${spec.domain} source ${source.name} (stage SQL): ${err.message}`);
    }
  }
  const curated = new Map<string, Map<string, RawFieldEdge[]>>();
  const datasets = new Map<string, DatasetColumnLineage>();
  for (const dataset of spec.datasets) {
    const declared = hand.declared?.get(dataset.name);
    let columns: { name: string; edges: RawFieldEdge[] }[] | undefined;
    try {
      if (!dataset.reads.every((r) => staged.has(r)))
        throw new MeshError(ErrorCode.LINEAGE_UNDERIVABLE, 'a source it reads has no derivable lineage');
      const tables: Record<string, string[]> = {};
      for (const [name, cols] of staged) tables[`src.${name}`] = [...cols.keys()];
      for (const [name, cols] of curated) tables[`curated.${name}`] = [...cols.keys()];
      const lineage = await sqlLineage(duck, dataset.sql, tables);
      const upstream = (table: string) =>
        table.startsWith('src.') ? staged.get(table.slice(4))! : curated.get(table.slice(8))!;
      columns = lineage.columns.map((c) => ({
        name: c.name,
        edges: compose([...c.edges, ...lineage.dataset], upstream),
      }));
      for (const [column, edges] of declared ?? []) {
        const derived = columns.find((c) => c.name === column)?.edges.filter((e) => e.type === 'DIRECT') ?? [];
        const [a, b] = [derived, edges].map((list) => list.map(key).sort().join(', '));
        if (a !== b)
          problems.push(
            `${spec.domain}.${dataset.name}.${column}: lineage.yaml declares ${describe(edges)}, the SQL derives ` +
              describe(derived),
          );
      }
    } catch (err) {
      if (!isMeshError(err, ErrorCode.LINEAGE_UNDERIVABLE)) throw err;
      const expected = hand.columns?.(dataset.name) ?? [];
      const missing = expected.filter((c) => !declared?.has(c));
      if (declared && expected.length && missing.length === 0)
        columns = expected.map((name) => ({ name, edges: declared.get(name)! }));
      else
        problems.push(
          `${spec.domain}.${dataset.name}: ${err.message}` +
            (declared ? `; lineage.yaml declares no lineage for ${missing.join(', ')}` : ''),
        );
    }
    if (!columns) continue;
    curated.set(dataset.name, new Map(columns.map((c) => [c.name, c.edges])));
    datasets.set(dataset.name, split(columns));
  }
  return { datasets, problems };
}

function describe(edges: RawFieldEdge[]): string {
  return edges.length ? edges.map((e) => `${e.source}.${e.field} (${e.subtype})`).join(', ') : 'nothing';
}

/** A source's staged columns, each with every raw edge it has (its rows' included). */
async function stageLineage(duck: Duck, source: SourceSpec): Promise<Map<string, RawFieldEdge[]>> {
  const declared = source.columns ?? [];
  const flat = new Map(declared.map((c) => [c.replace(/\./g, '_'), c]));
  const input = [...(source.format === 'jsonl' ? ['j'] : []), ...flat.keys(), ...FILE_COLUMNS];
  const lineage = await sqlLineage(duck, source.stageSql, { input });
  const edgesOf = (name: string) => lineage.columns.find((c) => c.name === name)?.edges ?? [];
  // The pipeline keeps a record only without a reject reason (everything the reason reads decides it), and the first
  // record of each key.
  const rows: ColumnEdge[] = [
    ...lineage.dataset,
    ...edgesOf('_reject_reason').map((e) => ({ ...e, type: 'INDIRECT' as const, subtype: 'FILTER' as const })),
    ...source.key.flatMap((k) => indirectly(edgesOf(k), 'FILTER')),
  ];
  const toRaw = (e: ColumnEdge): RawFieldEdge[] => {
    const [head, ...rest] = e.column.split('.');
    if (FILE_COLUMNS.includes(head!)) return [];
    // `j` is the whole JSON record: a key read from it is a raw field.
    const field = head === 'j' ? (rest.length ? rest.join('.') : '*') : [flat.get(head!) ?? head!, ...rest].join('.');
    return [{ ...transformation(e), source: source.name, field }];
  };
  return new Map(
    lineage.columns
      .filter((c) => !STAGE_ONLY.has(c.name))
      .map((c) => [c.name, unique([...c.edges, ...rows].flatMap(toRaw))]),
  );
}

/** Edges to the columns of `upstream` tables, carried down to raw fields through those columns' own edges. */
function compose(edges: ColumnEdge[], upstream: (table: string) => Map<string, RawFieldEdge[]>): RawFieldEdge[] {
  const out: RawFieldEdge[] = [];
  for (const outer of edges) {
    const [head, ...rest] = outer.column.split('.');
    for (const inner of upstream(outer.table).get(head!) ?? []) {
      // A struct field read from a column is that field of what the column came from.
      const field = inner.type === 'DIRECT' && rest.length ? [inner.field, ...rest].join('.') : inner.field;
      out.push({ source: inner.source, field, ...through(outer, inner) });
    }
  }
  return unique(out);
}

/** How an input reaches an output through a column in between: the stronger computation, or the deciding kind. */
function through(outer: ColumnTransformation, inner: ColumnTransformation): ColumnTransformation {
  if (inner.type === 'INDIRECT') return transformation(inner);
  if (outer.type === 'INDIRECT') return transformation(outer);
  const rank = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 } as const;
  return { type: 'DIRECT', subtype: rank[outer.subtype] >= rank[inner.subtype] ? outer.subtype : inner.subtype };
}

function transformation(e: ColumnTransformation): ColumnTransformation {
  return { type: e.type, subtype: e.subtype } as ColumnTransformation;
}

function indirectly(edges: ColumnEdge[], subtype: 'FILTER'): ColumnEdge[] {
  return edges.map((e) => (e.type === 'DIRECT' ? { ...e, type: 'INDIRECT', subtype } : e));
}

function key(e: RawFieldEdge): string {
  return `${e.source}\u0000${e.field}\u0000${e.type}\u0000${e.subtype}`;
}

function unique(edges: RawFieldEdge[]): RawFieldEdge[] {
  return [...new Map(edges.map((e) => [key(e), e])).values()].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The INDIRECT edges every column has are the dataset's; each column keeps the rest. */
function split(columns: { name: string; edges: RawFieldEdge[] }[]): DatasetColumnLineage {
  const shared = columns.length
    ? columns
        .map((c) => new Set(c.edges.filter((e) => e.type === 'INDIRECT').map(key)))
        .reduce((a, b) => new Set([...a].filter((k) => b.has(k))))
    : new Set<string>();
  return {
    columns: columns.map((c) => ({ name: c.name, edges: c.edges.filter((e) => !shared.has(key(e))) })),
    dataset: (columns[0]?.edges ?? []).filter((e) => shared.has(key(e))),
  };
}
