import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { conflict } from './conflict.js';
import type { ControlPlane, ControlRecord, ControlWrite, Lease } from './types.js';

const SCHEMA = `
  create table if not exists control_records (key text primary key, value text not null, revision integer not null);
  create table if not exists control_leases (
    name text primary key, holder text not null, expires_at integer not null, fence integer not null
  );
  create table if not exists control_notifications (
    id integer primary key autoincrement, channel text not null, payload text not null, at integer not null
  );
`;

/** How often listeners look for notifications from other processes of the machine. */
const LISTEN_POLL_MS = 200;

/**
 * The embedded control plane: one SQLite file under MESH_DATA_DIR. Its transactions are `BEGIN IMMEDIATE`, so two
 * processes of one machine that write at once are serialised and the loser of a compare-and-swap gets `CONFLICT`.
 * Notifications are rows that listeners of every process on the machine poll for a few times a second.
 */
export class EmbeddedControlPlane implements ControlPlane {
  readonly kind = 'embedded';
  readonly describe: string;
  private readonly db: Database.Database;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.describe = `sqlite ${path.basename(file)}`;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  async read<T>(key: string): Promise<ControlRecord<T> | undefined> {
    const row = this.db.prepare('select key, value, revision from control_records where key = ?').get(key) as
      | { key: string; value: string; revision: number }
      | undefined;
    return row && { key: row.key, value: JSON.parse(row.value) as T, revision: row.revision };
  }

  async list<T>(prefix: string): Promise<ControlRecord<T>[]> {
    const rows = this.db
      .prepare('select key, value, revision from control_records where substr(key, 1, ?) = ? order by key')
      .all(prefix.length, prefix) as { key: string; value: string; revision: number }[];
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as T, revision: r.revision }));
  }

  async commit(writes: ControlWrite[]): Promise<number[]> {
    const revisionOf = this.db.prepare('select revision from control_records where key = ?');
    const upsert = this.db.prepare(
      `insert into control_records (key, value, revision) values (?, ?, ?)
       on conflict (key) do update set value = excluded.value, revision = excluded.revision`,
    );
    const remove = this.db.prepare('delete from control_records where key = ?');
    return this.db
      .transaction(() =>
        writes.map((w) => {
          const actual = (revisionOf.get(w.key) as { revision: number } | undefined)?.revision ?? 0;
          if (actual !== w.expected) throw conflict(w.key, w.expected, actual);
          if (w.value === null) {
            remove.run(w.key);
            return 0;
          }
          upsert.run(w.key, JSON.stringify(w.value), actual + 1);
          return actual + 1;
        }),
      )
      .immediate();
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const now = Date.now();
    return this.db
      .transaction(() => {
        const held = this.db.prepare('select holder, expires_at, fence from control_leases where name = ?').get(name) as
          | { holder: string; expires_at: number; fence: number }
          | undefined;
        if (held && held.holder !== holder && held.expires_at > now) return undefined;
        const fence = held?.holder === holder && held.expires_at > now ? held.fence : (held?.fence ?? 0) + 1;
        this.db
          .prepare(
            `insert into control_leases (name, holder, expires_at, fence) values (?, ?, ?, ?)
             on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at,
             fence = excluded.fence`,
          )
          .run(name, holder, now + ttlMs, fence);
        return { name, holder, expiresAt: new Date(now + ttlMs), fence };
      })
      .immediate();
  }

  async holderOf(name: string): Promise<(Lease & { remainingMs: number }) | undefined> {
    const now = Date.now();
    const row = this.db
      .prepare('select holder, expires_at, fence from control_leases where name = ? and expires_at > ?')
      .get(name, now) as { holder: string; expires_at: number; fence: number } | undefined;
    return (
      row && {
        name,
        holder: row.holder,
        expiresAt: new Date(row.expires_at),
        fence: row.fence,
        remainingMs: row.expires_at - now,
      }
    );
  }

  async release(name: string, holder: string): Promise<void> {
    // Expired rather than deleted, so the fence keeps growing across holders.
    this.db.prepare('update control_leases set expires_at = 0 where name = ? and holder = ?').run(name, holder);
  }

  async notify(channel: string, payload: string): Promise<void> {
    const now = Date.now();
    this.db
      .prepare('insert into control_notifications (channel, payload, at) values (?, ?, ?)')
      .run(channel, payload, now);
    // A listener that polls misses nothing younger than a minute.
    this.db.prepare('delete from control_notifications where at < ?').run(now - 60_000);
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    let last =
      (this.db.prepare('select max(id) as id from control_notifications').get() as { id: number | null }).id ?? 0;
    const since = this.db.prepare(
      'select id, payload from control_notifications where id > ? and channel = ? order by id',
    );
    const timer = setInterval(() => {
      for (const n of since.all(last, channel) as { id: number; payload: string }[]) {
        last = n.id;
        onMessage(n.payload);
      }
    }, LISTEN_POLL_MS);
    timer.unref();
    this.timers.add(timer);
    return async () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.db.close();
  }
}
