import { pathToFileURL } from 'node:url';
import type { OnlineStoreConfig } from '../../platform/index.js';

/** How a store names itself in logs, lineage and materialization watermarks (credentials removed). */
export function onlineStoreUrl(config: OnlineStoreConfig): string {
  if (config.kind === 'sqlite') return pathToFileURL(config.file).href;
  // Every node of a cluster list may carry its own `user:password@`: each one is cut.
  return config.url
    .split(',')
    .map((node) => node.trim().replace(/^((?:[a-z][\w+.-]*:)?\/\/)?[^@/]*@/i, '$1'))
    .join(',');
}

/** One entity's values of one view version, as materialized. */
export interface OnlineRecord {
  /** Milliseconds since the epoch. */
  eventTs: number;
  createdTs: number;
  /** In the view version's feature order. */
  readonly values: unknown[];
  /** The JSON array the values are stored as, when the store read them as text. */
  readonly valuesJson?: string;
}

/**
 * A record to write: its values, or (materialization formats them in DuckDB) the JSON array the store keeps of them.
 */
export type OnlineValues = { eventTs: number; createdTs: number } & ({ values: unknown[] } | { valuesJson: string });
export type OnlineWrite = OnlineValues & { key: string };

export interface WriteResult {
  written: number;
  /** Not written because the store already held a newer value (or the same one). */
  skipped: number;
}

export interface ReadRequest {
  /** View version, `view@vN`. */
  table: string;
  keys: string[];
}

/**
 * The online store: the latest values per (view version, entity key). Implementations: Redis (`RedisOnlineStore`) and
 * an embedded SQLite file (`SqliteOnlineStore`). Both run the same contract tests.
 */
export interface OnlineStore {
  readonly kind: 'redis' | 'sqlite';
  /** Where it lives, for logs and lineage (redis://host:port, file:///…). */
  readonly url: string;
  /**
   * Upserts records; a record never replaces one with a later (eventTs, createdTs). `expireAfterMs` (0: never) is
   * counted from each record's event time, after which the store may drop it. `now` is the data clock (Platform.now)
   * the event times are judged against; the store converts expiry to its own clock.
   */
  write(table: string, records: OnlineWrite[], expireAfterMs: number, now?: number): Promise<WriteResult>;
  /** Every request's records in key order (undefined when absent), in as few round trips as the store allows. */
  read(requests: ReadRequest[]): Promise<(OnlineRecord | undefined)[][]>;
  /** Keys and bytes held per table (for cost allocation and metrics). */
  stats(): Promise<{ table: string; keys: number; bytes: number }[]>;
  /** Removes every record of a table (a retired view version). */
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}
