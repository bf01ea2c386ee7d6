import pg from 'pg';
import type { Logger } from '../log.js';
import { conflict } from './conflict.js';
import { ControlDatabase } from './database.js';
import type { ControlPlane, ControlRecord, ControlWrite, Lease } from './types.js';

/**
 * The control plane in PostgreSQL (MESH_CONTROL_DB), shared by every machine of the mesh: records moved by
 * compare-and-swap in transactions, leases judged by the database's clock, and LISTEN/NOTIFY for immediate delivery.
 * Its schema is migrated at first use.
 */
export class PostgresControlPlane implements ControlPlane {
  readonly kind = 'postgres';
  readonly describe: string;
  private readonly db: ControlDatabase;
  private readonly listeners = new Set<pg.Client>();

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    this.db = new ControlDatabase(url, log);
    this.describe = this.db.describe;
  }

  async read<T>(key: string): Promise<ControlRecord<T> | undefined> {
    const { rows } = await this.db.query<{ value: T; revision: string }>(
      'select value, revision from mesh_records where key = $1',
      [key],
    );
    return rows[0] && { key, value: rows[0].value, revision: Number(rows[0].revision) };
  }

  async list<T>(prefix: string): Promise<ControlRecord<T>[]> {
    const { rows } = await this.db.query<{ key: string; value: T; revision: string }>(
      'select key, value, revision from mesh_records where left(key, length($1)) = $1 order by key',
      [prefix],
    );
    return rows.map((r) => ({ key: r.key, value: r.value, revision: Number(r.revision) }));
  }

  async commit(writes: ControlWrite[]): Promise<number[]> {
    return this.db.transaction(async (client) => {
      const revisions: number[] = [];
      for (const w of writes) {
        const { rows } =
          w.value === null
            ? await client.query('delete from mesh_records where key = $1 and revision = $2 returning 0 as revision', [
                w.key,
                w.expected,
              ])
            : w.expected === 0
              ? await client.query(
                  `insert into mesh_records (key, value, revision) values ($1, $2, 1)
                   on conflict (key) do nothing returning revision`,
                  [w.key, JSON.stringify(w.value)],
                )
              : await client.query(
                  `update mesh_records set value = $2, revision = revision + 1, updated_at = now()
                   where key = $1 and revision = $3 returning revision`,
                  [w.key, JSON.stringify(w.value), w.expected],
                );
        if (rows.length === 0 && !(w.value === null && w.expected === 0)) {
          const now = await client.query('select revision from mesh_records where key = $1', [w.key]);
          throw conflict(w.key, w.expected, Number(now.rows[0]?.revision ?? 0));
        }
        revisions.push(Number(rows[0]?.revision ?? 0));
      }
      return revisions;
    });
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const { rows } = await this.db.query<{ expires_at: Date; fence: string }>(
      `insert into mesh_leases (name, holder, expires_at, fence)
         values ($1, $2, now() + $3 * interval '1 millisecond', 1)
       on conflict (name) do update set
         holder = excluded.holder,
         expires_at = excluded.expires_at,
         fence = case when mesh_leases.holder = excluded.holder and mesh_leases.expires_at > now()
                      then mesh_leases.fence else mesh_leases.fence + 1 end
       where mesh_leases.holder = excluded.holder or mesh_leases.expires_at <= now()
       returning expires_at, fence`,
      [name, holder, ttlMs],
    );
    return rows[0] && { name, holder, expiresAt: rows[0].expires_at, fence: Number(rows[0].fence) };
  }

  async holderOf(name: string): Promise<(Lease & { remainingMs: number }) | undefined> {
    const { rows } = await this.db.query<{ holder: string; expires_at: Date; fence: string; remaining_ms: number }>(
      `select holder, expires_at, fence, extract(epoch from expires_at - now()) * 1000 as remaining_ms
       from mesh_leases where name = $1 and expires_at > now()`,
      [name],
    );
    const row = rows[0];
    return (
      row && {
        name,
        holder: row.holder,
        expiresAt: row.expires_at,
        fence: Number(row.fence),
        remainingMs: Number(row.remaining_ms),
      }
    );
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.query('update mesh_leases set expires_at = now() where name = $1 and holder = $2', [name, holder]);
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.db.query('select pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * A connection of its own that LISTENs, reconnecting with backoff when the database goes away: notifications sent
   * meanwhile are lost, which is why every listener also polls.
   */
  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let backoff = 250;
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000 });
      const retry = () => {
        this.listeners.delete(c);
        void c.end().catch(() => {});
        if (stopped) return;
        setTimeout(() => void connect(), backoff).unref();
        backoff = Math.min(backoff * 2, 5000);
      };
      c.on('error', (err) => this.log.warn({ err: err.message, channel }, 'control plane listener lost'));
      c.on('end', () => client === c && retry());
      try {
        await this.db.migrated();
        await c.connect();
        c.on('notification', (n) => n.channel === channel && onMessage(n.payload ?? ''));
        await c.query(`listen ${c.escapeIdentifier(channel)}`);
        client = c;
        this.listeners.add(c);
        backoff = 250;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, channel }, 'control plane listener could not connect');
        retry();
      }
    };
    await connect();
    return async () => {
      stopped = true;
      const c = client;
      client = undefined;
      if (c) {
        this.listeners.delete(c);
        await c.end().catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((c) => c.end().catch(() => {})));
    await this.db.close();
  }
}
