import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RunEvent } from '../platform/index.js';
import type { Transport } from './transports.js';

/** A column (`field`) of a dataset, or the whole dataset (`field` = '*'). */
export interface LineageNode {
  namespace: string;
  name: string;
  field: string;
}

export interface LineageEdge {
  from: LineageNode;
  to: LineageNode;
  job: string;
  type: string;
  subtype: string | null;
  masking: boolean;
  client: string | null;
  role: string | null;
  count: number;
  lastSeen: string;
}

export interface Reached extends LineageNode {
  depth: number;
  via: string;
}

export interface ColumnReader {
  operation: string;
  client: string;
  role: string;
  masked: boolean;
  count: number;
  lastSeen: string;
}

export interface LineageJob {
  job: string;
  namespace: string;
  lastState: string;
  lastTime: string;
  runs: number;
}

/**
 * The lineage graph kept by the platform: every column edge from every event, with the job, the transformation,
 * masking, and for gateway operations the client and role. It is a transport, so it receives exactly what OpenLineage
 * endpoints receive. Embedded SQLite beside the data on one machine; with MESH_CONTROL_DB, tables of the control
 * database, so that every gateway's operations land in one graph.
 */
export interface LineageGraph extends Transport {
  /** Everything a dataset (or one of its fields) comes from, to `depth` hops. */
  upstream(name: string, field?: string, depth?: number): Promise<Reached[]>;
  /** Everything computed from a dataset (or one of its fields), to `depth` hops. */
  downstream(name: string, field?: string, depth?: number): Promise<Reached[]>;
  /**
   * The edges around a dataset (or one of its fields) in both directions, to `depth` hops each way, aggregated over
   * clients and roles: what a lineage diagram draws.
   */
  neighbourhood(name: string, field: string | undefined, depth?: number): Promise<{ edges: LineageEdge[] }>;
  /** Gateway operations (with client and role) that read a column, directly or through other fields. */
  readers(name: string, field: string): Promise<ColumnReader[]>;
  edges(): Promise<LineageEdge[]>;
  jobs(): Promise<LineageJob[]>;
  close(): Promise<void>;
}

/** One stored edge, as both backends keep it. */
export interface EdgeRecord {
  src_ns: string;
  src_name: string;
  src_field: string;
  dst_ns: string;
  dst_name: string;
  dst_field: string;
  job: string;
  type: string;
  subtype: string | null;
  masking: boolean;
  client: string;
  role: string;
  count: number;
  last_seen: string;
}

/** What an event adds to the graph: its job's latest state, and for a completed run its column edges. */
export function graphRecords(e: RunEvent): {
  job: { job: string; namespace: string; state: string; run: string; time: string };
  edges: EdgeRecord[];
} {
  const job = { job: e.job.name, namespace: e.job.namespace, state: e.eventType, run: e.run.runId, time: e.eventTime };
  const edges: EdgeRecord[] = [];
  if (e.eventType !== 'COMPLETE') return { job, edges };
  const stats = e.run.facets?.mesh_operationStats as { count?: number; client?: string; role?: string } | undefined;
  const base = {
    job: e.job.name,
    client: stats?.client ?? '',
    role: stats?.role ?? '',
    count: stats?.count ?? 1,
    last_seen: e.eventTime,
  };
  // An edge named twice in one event (a column feeding a field and the join) counts once per run.
  const seen = new Set<string>();
  const edge = (
    from: EdgeInput | LineageNode,
    to: LineageNode,
    type: string,
    subtype: string | null,
    masking: boolean,
  ) => {
    const src_field = 'field' in from ? from.field : '*';
    const key = JSON.stringify([from.namespace, from.name, src_field, to.namespace, to.name, to.field]);
    if (seen.has(key)) return;
    seen.add(key);
    edges.push({
      src_ns: from.namespace,
      src_name: from.name,
      src_field,
      dst_ns: to.namespace,
      dst_name: to.name,
      dst_field: to.field,
      type,
      subtype,
      masking,
      ...base,
    });
  };
  for (const out of e.outputs) {
    const lineage = out.facets?.columnLineage as
      | { fields?: Record<string, { inputFields: EdgeInput[] }>; dataset?: EdgeInput[] }
      | undefined;
    if (!lineage) {
      // Dataset-level lineage only: every input dataset feeds the whole output.
      for (const input of e.inputs)
        edge(
          { namespace: input.namespace, name: input.name, field: '*' },
          { namespace: out.namespace, name: out.name, field: '*' },
          'INDIRECT',
          null,
          false,
        );
      continue;
    }
    for (const [field, { inputFields }] of Object.entries(lineage.fields ?? {})) {
      for (const i of inputFields) {
        const t = i.transformations?.[0];
        edge(
          i,
          { namespace: out.namespace, name: out.name, field },
          t?.type ?? 'DIRECT',
          t?.subtype ?? null,
          i.transformations?.some((x) => x.masking) ?? false,
        );
      }
    }
    for (const i of lineage.dataset ?? []) {
      const t = i.transformations?.[0];
      edge(
        i,
        { namespace: out.namespace, name: out.name, field: '*' },
        t?.type ?? 'INDIRECT',
        t?.subtype ?? null,
        false,
      );
    }
  }
  return { job, edges };
}

/** The lineage graph in SQLite beside the data: one machine. */
export class SqliteLineageGraph implements LineageGraph {
  readonly name = 'graph';
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly job: Database.Statement;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS edges (
        src_ns TEXT, src_name TEXT, src_field TEXT, dst_ns TEXT, dst_name TEXT, dst_field TEXT,
        job TEXT, type TEXT, subtype TEXT, masking INTEGER, client TEXT NOT NULL DEFAULT '', role TEXT NOT NULL
          DEFAULT '',
        count INTEGER, last_seen TEXT,
        PRIMARY KEY (src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job, client, role)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst_name, dst_field);
      CREATE TABLE IF NOT EXISTS jobs (job TEXT PRIMARY KEY, namespace TEXT, last_state TEXT, last_run TEXT, last_time
        TEXT, runs INTEGER);`);
    this.upsert = this.db.prepare(`
      INSERT INTO edges VALUES (@src_ns, @src_name, @src_field, @dst_ns, @dst_name, @dst_field, @job, @type, @subtype,
        @masking, @client, @role, @count, @last_seen)
      ON CONFLICT DO UPDATE SET count = count + excluded.count, last_seen = max(last_seen, excluded.last_seen), type =
        excluded.type, subtype = excluded.subtype, masking = excluded.masking`);
    this.job = this.db.prepare(`
      INSERT INTO jobs VALUES (@job, @namespace, @state, @run, @time, 1)
      ON CONFLICT DO UPDATE SET last_state = excluded.last_state, last_run = excluded.last_run, last_time =
        excluded.last_time, runs = runs + 1`);
  }

  async send(events: RunEvent[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of events) {
        const { job, edges } = graphRecords(e);
        this.job.run(job);
        for (const edge of edges) this.upsert.run({ ...edge, masking: edge.masking ? 1 : 0 });
      }
    })();
  }

  async upstream(name: string, field?: string, depth = 50): Promise<Reached[]> {
    return this.walk('up', name, field, depth);
  }

  async downstream(name: string, field?: string, depth = 50): Promise<Reached[]> {
    return this.walk('down', name, field, depth);
  }

  private walk(direction: 'up' | 'down', name: string, field: string | undefined, depth: number): Reached[] {
    const [near, far] = direction === 'up' ? ['dst', 'src'] : ['src', 'dst'];
    const rows = this.db
      .prepare(
        `WITH RECURSIVE walk(namespace, name, field, depth, via) AS (
           SELECT ${far}_ns, ${far}_name, ${far}_field, 1, job FROM edges WHERE ${near}_name = @name AND (@field IS
             NULL OR ${near}_field IN (@field, '*'))
           UNION
           SELECT e.${far}_ns, e.${far}_name, e.${far}_field, w.depth + 1, e.job FROM edges e JOIN walk w
             ON e.${near}_name = w.name AND (e.${near}_field = w.field OR e.${near}_field = '*' OR w.field = '*')
           WHERE w.depth < @depth)
         SELECT namespace, name, field, min(depth) AS depth, min(via) AS via FROM walk GROUP BY namespace, name, field
           ORDER BY depth, name, field`,
      )
      .all({ name, field: field ?? null, depth }) as Reached[];
    return rows;
  }

  async neighbourhood(name: string, field: string | undefined, depth = 6): Promise<{ edges: LineageEdge[] }> {
    const select = (near: 'src' | 'dst') =>
      this.db.prepare(
        `SELECT src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job, min(type) AS type, min(subtype) AS
          subtype, max(masking) AS masking, sum(count) AS count,
           NULL AS client, NULL AS role, max(last_seen) AS last_seen
         FROM edges WHERE ${near}_name = @name AND (@field = '*' OR ${near}_field IN (@field, '*'))
         GROUP BY src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job`,
      );
    const byDirection = { down: select('src'), up: select('dst') };
    return neighbourhoodOf(
      name,
      field,
      depth,
      async (near, n) => byDirection[near === 'src' ? 'down' : 'up'].all(n) as EdgeRow[],
    );
  }

  async readers(name: string, field: string): Promise<ColumnReader[]> {
    return this.db
      .prepare(
        `SELECT job AS operation, client, role, max(masking) AS masked, sum(count) AS count, max(last_seen) AS
          lastSeen FROM edges
         WHERE src_name = ? AND src_field = ? AND job LIKE 'gateway.%' GROUP BY job, client, role ORDER BY count DESC`,
      )
      .all(name, field)
      .map((r) => ({
        ...(r as { operation: string; client: string; role: string; count: number; lastSeen: string }),
        masked: (r as { masked: number }).masked === 1,
      }));
  }

  async edges(): Promise<LineageEdge[]> {
    return (this.db.prepare(`SELECT * FROM edges`).all() as EdgeRow[]).map(edgeOf);
  }

  async jobs(): Promise<LineageJob[]> {
    return this.db
      .prepare(`SELECT job, namespace, last_state AS lastState, last_time AS lastTime, runs FROM jobs ORDER BY job`)
      .all() as never;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export type EdgeRow = Record<string, string | number | boolean | null>;

/**
 * The edges around a node, hop by hop in each direction, aggregated by whichever backend answers `select`: the edges
 * whose `near` end is the node.
 */
export async function neighbourhoodOf(
  name: string,
  field: string | undefined,
  depth: number,
  select: (near: 'src' | 'dst', node: { name: string; field: string }) => Promise<EdgeRow[]>,
): Promise<{ edges: LineageEdge[] }> {
  const edges = new Map<string, LineageEdge>();
  for (const direction of ['up', 'down'] as const) {
    let frontier = [{ name, field: field ?? '*' }];
    const visited = new Set<string>();
    for (let hop = 0; hop < depth && frontier.length > 0; hop++) {
      const next: { name: string; field: string }[] = [];
      for (const n of frontier) {
        const id = `${n.name}\u0000${n.field}`;
        if (visited.has(id)) continue;
        visited.add(id);
        for (const r of await select(direction === 'down' ? 'src' : 'dst', n)) {
          const e = edgeOf(r);
          edges.set(JSON.stringify([e.from, e.to, e.job]), e);
          next.push(
            direction === 'down' ? { name: e.to.name, field: e.to.field } : { name: e.from.name, field: e.from.field },
          );
        }
      }
      frontier = next;
    }
  }
  return { edges: [...edges.values()] };
}

export function edgeOf(r: EdgeRow): LineageEdge {
  return {
    from: { namespace: String(r.src_ns), name: String(r.src_name), field: String(r.src_field) },
    to: { namespace: String(r.dst_ns), name: String(r.dst_name), field: String(r.dst_field) },
    job: String(r.job),
    type: String(r.type),
    subtype: r.subtype === null ? null : String(r.subtype),
    masking: r.masking === 1 || r.masking === true,
    client: r.client ? String(r.client) : null,
    role: r.role ? String(r.role) : null,
    count: Number(r.count),
    lastSeen: String(r.last_seen),
  };
}

type EdgeInput = {
  namespace: string;
  name: string;
  field: string;
  transformations?: { type: string; subtype?: string; masking?: boolean }[];
};
