import type { ControlDatabase, RunEvent } from '../platform/index.js';
import {
  edgeOf,
  graphRecords,
  neighbourhoodOf,
  type ColumnReader,
  type EdgeRecord,
  type EdgeRow,
  type LineageEdge,
  type LineageGraph,
  type LineageJob,
  type Reached,
} from './graph.js';

const COLUMNS = [
  'src_ns',
  'src_name',
  'src_field',
  'dst_ns',
  'dst_name',
  'dst_field',
  'job',
  'type',
  'subtype',
  'masking',
  'client',
  'role',
  'count',
  'last_seen',
] as const;

/**
 * The lineage graph in the control database (MESH_CONTROL_DB): every gateway and job on every machine adds to the same
 * edges, so `mesh lineage readers`, the metadata subgraph and cost allocation see all the traffic. Each event is one
 * statement (atomic on its own), its rows in key order so that gateways writing the same edges never deadlock.
 */
export class PostgresLineageGraph implements LineageGraph {
  readonly name = 'graph';

  constructor(private readonly db: ControlDatabase) {}

  async send(events: RunEvent[]): Promise<void> {
    for (const e of events) {
      const { job, edges } = graphRecords(e);
      await this.db.query(
        `insert into mesh_lineage_jobs (job, namespace, last_state, last_run, last_time, runs)
         values ($1, $2, $3, $4, $5, 1)
         on conflict (job) do update set last_state = excluded.last_state, last_run = excluded.last_run,
           last_time = excluded.last_time, runs = mesh_lineage_jobs.runs + 1`,
        [job.job, job.namespace, job.state, job.run, job.time],
      );
      if (edges.length > 0) await this.upsert(edges);
    }
  }

  private async upsert(edges: EdgeRecord[]): Promise<void> {
    const key = (e: EdgeRecord) =>
      [e.src_ns, e.src_name, e.src_field, e.dst_ns, e.dst_name, e.dst_field, e.job, e.client, e.role].join('\u0000');
    const sorted = [...edges].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    await this.db.query(
      `insert into mesh_lineage_edges (${COLUMNS.join(', ')})
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::boolean[], $11::text[], $12::text[], $13::bigint[], $14::text[])
       on conflict (src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job, client, role) do update set
         count = mesh_lineage_edges.count + excluded.count,
         last_seen = greatest(mesh_lineage_edges.last_seen, excluded.last_seen),
         type = excluded.type, subtype = excluded.subtype, masking = excluded.masking`,
      COLUMNS.map((c) => sorted.map((e) => e[c])),
    );
  }

  async upstream(name: string, field?: string, depth = 50): Promise<Reached[]> {
    return this.walk('up', name, field, depth);
  }

  async downstream(name: string, field?: string, depth = 50): Promise<Reached[]> {
    return this.walk('down', name, field, depth);
  }

  private async walk(direction: 'up' | 'down', name: string, field: string | undefined, depth: number) {
    const [near, far] = direction === 'up' ? ['dst', 'src'] : ['src', 'dst'];
    const { rows } = await this.db.query<Reached>(
      `with recursive walk(namespace, name, field, depth, via) as (
         select ${far}_ns, ${far}_name, ${far}_field, 1, job from mesh_lineage_edges
           where ${near}_name = $1 and ($2::text is null or ${near}_field in ($2, '*'))
         union
         select e.${far}_ns, e.${far}_name, e.${far}_field, w.depth + 1, e.job from mesh_lineage_edges e join walk w
           on e.${near}_name = w.name and (e.${near}_field = w.field or e.${near}_field = '*' or w.field = '*')
         where w.depth < $3)
       select namespace, name, field, min(depth)::int as depth, min(via) as via from walk
       group by namespace, name, field order by depth, name collate "C", field collate "C"`,
      [name, field ?? null, depth],
    );
    return rows;
  }

  async neighbourhood(name: string, field: string | undefined, depth = 6): Promise<{ edges: LineageEdge[] }> {
    return neighbourhoodOf(name, field, depth, async (near, n) => {
      const { rows } = await this.db.query<EdgeRow>(
        `select src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job, min(type) as type,
           min(subtype) as subtype, bool_or(masking) as masking, sum(count)::int as count,
           null as client, null as role, max(last_seen) as last_seen
         from mesh_lineage_edges where ${near}_name = $1 and ($2 = '*' or ${near}_field in ($2, '*'))
         group by src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job`,
        [n.name, n.field],
      );
      return rows;
    });
  }

  async readers(name: string, field: string): Promise<ColumnReader[]> {
    const { rows } = await this.db.query<ColumnReader>(
      `select job as operation, client, role, bool_or(masking) as masked, sum(count)::int as count,
         max(last_seen) as "lastSeen"
       from mesh_lineage_edges where src_name = $1 and src_field = $2 and job like 'gateway.%'
       group by job, client, role order by count desc`,
      [name, field],
    );
    return rows;
  }

  async edges(): Promise<LineageEdge[]> {
    return (await this.db.query<EdgeRow>('select * from mesh_lineage_edges')).rows.map((r) => edgeOf(r));
  }

  async jobs(): Promise<LineageJob[]> {
    const { rows } = await this.db.query<LineageJob>(
      `select job, namespace, last_state as "lastState", last_time as "lastTime", runs::int as runs
       from mesh_lineage_jobs order by job collate "C"`,
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
