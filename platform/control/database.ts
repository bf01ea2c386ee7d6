import pg from 'pg';
import { ErrorCode, MeshError, isMeshError } from '../errors.js';
import type { Logger } from '../log.js';
import { MIGRATIONS, MIGRATION_LOCK } from './migrations.js';

/** The URL as logs and /health may show it: no password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The control database (MESH_CONTROL_DB): a small pool, the schema migrated at first use, and failures turned into
 * `CONTROL_PLANE_ERROR` (the database's own message goes to the log only). What every layer keeping shared state in it
 * (the control plane's records and leases, the lineage graph) queries through.
 */
export class ControlDatabase {
  readonly describe: string;
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;

  constructor(
    readonly url: string,
    private readonly log: Logger,
  ) {
    this.describe = redactUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: 4,
      allowExitOnIdle: true,
      connectionTimeoutMillis: 3000,
      query_timeout: 10_000,
    });
    // An idle connection the server dropped: the next query opens another.
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'control database connection lost'));
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.migrated();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.migrated();
    const client = await this.connect();
    try {
      await client.query('begin');
      const out = await work(client);
      await client.query('commit');
      return out;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw this.unavailable(err);
    } finally {
      client.release();
    }
  }

  migrated(): Promise<void> {
    this.ready ??= this.migrate().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Applies the migrations this database has not had yet, in order, once across replicas starting together. */
  private async migrate(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        `create table if not exists mesh_schema_migrations (
           version integer primary key, name text not null, applied_at timestamptz not null default now())`,
      );
      const { rows } = await client.query<{ version: number }>('select version from mesh_schema_migrations');
      const applied = new Set(rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('insert into mesh_schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        this.log.info({ version: m.version, name: m.name }, 'control database migrated');
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw this.unavailable(err);
    } finally {
      client.release();
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** The database's own message goes to the log; the caller learns that the control plane is unavailable. */
  private unavailable(err: unknown): MeshError {
    if (isMeshError(err)) return err;
    this.log.warn({ err: (err as Error).message, controlDb: this.describe }, 'control database request failed');
    return new MeshError(
      ErrorCode.CONTROL_PLANE_ERROR,
      `the control plane (${this.describe}) is unavailable`,
      {},
      {
        cause: err,
      },
    );
  }
}
