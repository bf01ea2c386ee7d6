/**
 * The control database's schema, one numbered step at a time. Applied at start, in order, each in its own
 * transaction, under an advisory lock so that replicas starting together apply each step once. Never edit a step that
 * has shipped: add the next one.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'records and leases',
    sql: `
      create table mesh_records (
        key text primary key,
        value jsonb not null,
        revision bigint not null,
        updated_at timestamptz not null default now()
      );
      create table mesh_leases (
        name text primary key,
        holder text not null,
        expires_at timestamptz not null,
        fence bigint not null
      );`,
  },
  {
    version: 2,
    name: 'lineage graph',
    sql: `
      create table mesh_lineage_edges (
        src_ns text not null, src_name text not null, src_field text not null,
        dst_ns text not null, dst_name text not null, dst_field text not null,
        job text not null, type text not null, subtype text, masking boolean not null,
        client text not null default '', role text not null default '',
        count bigint not null, last_seen text not null,
        primary key (src_ns, src_name, src_field, dst_ns, dst_name, dst_field, job, client, role)
      );
      create index mesh_lineage_edges_src on mesh_lineage_edges (src_name, src_field);
      create index mesh_lineage_edges_dst on mesh_lineage_edges (dst_name, dst_field);
      create table mesh_lineage_jobs (
        job text primary key, namespace text not null, last_state text not null, last_run text not null,
        last_time text not null, runs bigint not null
      );`,
  },
];

/** Any constant both the CLI and servers agree on: the advisory lock that serialises migrations. */
export const MIGRATION_LOCK = 7_356_001;
