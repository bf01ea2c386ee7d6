import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeRecord, encodeRecord, storedKey, PREFIX_LENGTH } from './codec.js';
import {
  onlineStoreUrl,
  type OnlineRecord,
  type OnlineStore,
  type OnlineWrite,
  type ReadRequest,
  type WriteResult,
} from './types.js';

/**
 * The embedded online store: one SQLite file in WAL mode, so the materializer and every server process share it.
 * Reads are synchronous and take microseconds; no server to install.
 */
export class SqliteOnlineStore implements OnlineStore {
  readonly kind = 'sqlite';
  readonly url: string;
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly purge: Database.Statement;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.url = onlineStoreUrl({ kind: 'sqlite', file });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS online (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at
        INTEGER, PRIMARY KEY (tbl, key)) WITHOUT ROWID`,
    );
    // The version prefix orders values: an older one never replaces a newer one.
    this.upsert = this.db.prepare(
      `INSERT INTO online (tbl, key, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE substr(excluded.value, 1, ${PREFIX_LENGTH}) > substr(online.value, 1, ${PREFIX_LENGTH})`,
    );
    this.purge = this.db.prepare(`DELETE FROM online WHERE tbl = ? AND expires_at <= ?`);
    this.select = this.db.prepare(
      `SELECT key, value FROM online WHERE tbl = ? AND key IN (SELECT value FROM json_each(?)) AND (expires_at IS NULL
        OR expires_at > ?)`,
    );
  }

  async write(table: string, records: OnlineWrite[], expireAfterMs: number, now = Date.now()): Promise<WriteResult> {
    let written = 0;
    const skew = Date.now() - now;
    this.db.transaction(() => {
      this.purge.run(table, Date.now());
      for (const r of records)
        written += this.upsert.run(
          table,
          storedKey(r.key),
          encodeRecord(r),
          expireAfterMs > 0 ? r.eventTs + expireAfterMs + skew : null,
        ).changes;
    })();
    return { written, skipped: records.length - written };
  }

  async read(requests: ReadRequest[]): Promise<(OnlineRecord | undefined)[][]> {
    const now = Date.now();
    return requests.map(({ table, keys }) => {
      const stored = keys.map(storedKey);
      const rows = this.select.all(table, JSON.stringify(stored), now) as { key: string; value: string }[];
      const byKey = new Map(rows.map((r) => [r.key, r.value]));
      return stored.map((k) => {
        const v = byKey.get(k);
        return v === undefined ? undefined : decodeRecord(v);
      });
    });
  }

  async stats(): Promise<{ table: string; keys: number; bytes: number }[]> {
    return this.db
      .prepare(
        `SELECT tbl AS "table", count(*) AS keys, sum(length(key) + length(value) + 8) AS bytes FROM online GROUP BY
          tbl ORDER BY tbl`,
      )
      .all() as {
      table: string;
      keys: number;
      bytes: number;
    }[];
  }

  async drop(table: string): Promise<void> {
    this.db.prepare(`DELETE FROM online WHERE tbl = ?`).run(table);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
