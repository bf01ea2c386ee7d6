import type { Duck } from '../../platform/index.js';
import type { Logger } from '../../platform/index.js';

type Row = Record<string, unknown>;

/**
 * A key lookup a domain declares over its own curated data: rows of `from` by `key`, projected by `select` (SQL
 * expressions with their aliases), in `orderBy` order within a key. The serving copy answers it from memory; DuckDB
 * answers the same declaration when the copy is not held.
 */
export interface LookupSpec {
  from: string;
  key: string;
  select: string;
  orderBy?: string;
}

/** The serving copy as resolvers' loaders see it for one request: one version, whatever is published meanwhile. */
export interface ServingView {
  /** Declares a lookup (loaders do when they are made), so the copy holds it from its next build on. */
  declare(spec: LookupSpec): void;
  /** Rows by key for a lookup, or undefined when the copy does not hold it (over budget, or not built yet). */
  rows<R extends Row>(spec: LookupSpec): ReadonlyMap<string, readonly R[]> | undefined;
}

export const specId = (s: LookupSpec) => `${s.from}\u0000${s.key}\u0000${s.select}\u0000${s.orderBy ?? ''}`;

/** The column every lookup query adds for grouping; removed from the rows it returns. */
export const KEY_ALIAS = '__mesh_key';

export function lookupSql(spec: LookupSpec, where = 'TRUE'): string {
  return `SELECT ${spec.select}, CAST(${spec.key} AS VARCHAR) AS ${KEY_ALIAS} FROM ${spec.from} WHERE ${where} ORDER
    BY ${spec.orderBy ? `${spec.key}, ${spec.orderBy}` : spec.key}`;
}

/** Groups lookup rows by their key column, in query order, dropping the column. */
export function groupByKey<R extends Row>(rows: Row[]): Map<string, R[]> {
  const out = new Map<string, R[]>();
  for (const row of rows) {
    const k = row[KEY_ALIAS] as string;
    delete row[KEY_ALIAS];
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(row as R);
  }
  return out;
}

/**
 * Indexed, read-only, in-memory copies of a domain's own curated data for the lookups its resolvers declare. Built from
 * the loaded version when a subgraph starts or swaps versions, and replaced in one assignment, so a request holding a
 * view never sees two versions. A memory budget decides what is held; a lookup over it is answered by DuckDB.
 */
export class ServingCopy {
  private readonly specs = new Map<string, LookupSpec>();
  private current = new Map<string, ReadonlyMap<string, readonly Row[]>>();
  private readonly overBudget = new Set<string>();
  /** Estimated bytes held, per lookup (for /metrics and the budget). */
  bytes = new Map<string, number>();
  private building?: Promise<void>;
  private built = false;

  constructor(
    private readonly duck: Duck,
    private readonly budgetBytes: number,
    private readonly log: Logger,
    private readonly domain: string,
  ) {}

  /** The copy as of now: what one request uses throughout. */
  view(): ServingView {
    const held = this.current;
    return {
      declare: (spec) => this.declare(spec),
      rows: <R extends Row>(spec: LookupSpec) =>
        held.get(specId(spec)) as ReadonlyMap<string, readonly R[]> | undefined,
    };
  }

  /** Declares a lookup; one first declared after the first build (a lazily made loader) is built in the background. */
  declare(spec: LookupSpec): void {
    const id = specId(spec);
    if (this.specs.has(id)) return;
    this.specs.set(id, spec);
    if (this.built)
      void this.rebuild().catch((err: unknown) =>
        this.log.error({ err, domain: this.domain }, 'serving copy build failed'),
      );
  }

  /** Rebuilds every declared lookup from the tables now loaded, then swaps them in at once. */
  rebuild(): Promise<void> {
    // Serialized: a rebuild requested during one runs after it, over the tables then loaded.
    const next = (this.building ?? Promise.resolve()).then(() => this.build());
    this.building = next.finally(() => {
      if (this.building === next) this.building = undefined;
    });
    return next;
  }

  private async build(): Promise<void> {
    const built = new Map<string, ReadonlyMap<string, readonly Row[]>>();
    const bytes = new Map<string, number>();
    let used = 0;
    for (const [id, spec] of this.specs) {
      const rows = await this.duck.all(lookupSql(spec));
      const size = estimateBytes(rows);
      if (used + size > this.budgetBytes) {
        if (!this.overBudget.has(id)) {
          this.overBudget.add(id);
          this.log.warn(
            { domain: this.domain, lookup: `${spec.from} by ${spec.key}`, bytes: size, budgetBytes: this.budgetBytes },
            'serving copy over its memory budget (MESH_SERVING_MEMORY_MB): this lookup is answered by DuckDB',
          );
        }
        continue;
      }
      used += size;
      bytes.set(id, size);
      built.set(id, groupByKey(rows));
    }
    this.current = built;
    this.bytes = bytes;
    // Declarations made before the first real build (the domain's loaders, at start-up) are built by that build.
    this.built ||= this.specs.size > 0;
  }
}

/** Rough heap size: UTF-16 text of a sample's JSON plus per-object overhead, scaled to all rows. */
function estimateBytes(rows: Row[]): number {
  if (rows.length === 0) return 0;
  const sample = rows.slice(0, 200);
  const perRow =
    sample.reduce((n, r) => n + JSON.stringify(r).length * 2 + 64 + Object.keys(r).length * 16, 0) / sample.length;
  return Math.ceil(perRow * rows.length);
}
