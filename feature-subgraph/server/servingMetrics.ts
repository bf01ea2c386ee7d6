import { Counter, Histogram, type Registry } from 'prom-client';
import type { OnlineStore } from '../online/types.js';

/** What the feature server reports about serving: store reads (batch size, latency, hits) and answers by status. */
export class ServingMetrics {
  private readonly served: Counter<'status' | 'api'>;
  private readonly batchKeys: Histogram<'store'>;
  private readonly readDuration: Histogram<'store'>;
  private readonly lookups: Counter<'view' | 'result'>;
  private readonly age: Histogram<'view'>;

  constructor(registry: Registry) {
    this.served = new Counter({
      name: 'mesh_feature_values_served_total',
      help: 'Feature values served by status (OUTSIDE_MAX_AGE: withheld as older than the TTL) and API (graphql, rest)',
      labelNames: ['status', 'api'],
      registers: [registry],
    });
    this.batchKeys = new Histogram({
      name: 'mesh_online_store_read_keys',
      help: 'Keys per online store read: the DataLoader batch of one GraphQL operation, or one REST request',
      labelNames: ['store'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000],
      registers: [registry],
    });
    this.readDuration = new Histogram({
      name: 'mesh_online_store_read_duration_seconds',
      help: 'Latency of one online store read (one round trip on Redis)',
      labelNames: ['store'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    });
    this.lookups = new Counter({
      name: 'mesh_online_store_lookups_total',
      help: 'Online store lookups per feature view version, by result (hit, miss)',
      labelNames: ['view', 'result'],
      registers: [registry],
    });
    this.age = new Histogram({
      name: 'mesh_feature_value_age_seconds',
      help: 'Age (now - event time) of the oldest value of each feature view version in one online read',
      labelNames: ['view'],
      buckets: [60, 300, 900, 3600, 6 * 3600, 86_400, 2 * 86_400, 7 * 86_400, 30 * 86_400, 90 * 86_400],
      registers: [registry],
    });
  }

  countServed(columns: readonly (readonly string[])[], api: 'graphql' | 'rest'): void {
    this.countStatuses(statusCounts(columns), api);
  }

  countStatuses(counts: Record<string, number>, api: 'graphql' | 'rest'): void {
    for (const [status, n] of Object.entries(counts)) this.served.inc({ status, api }, n);
  }

  /** One store read, as observed where it ran (in this thread or a worker's). */
  recordRead(kind: OnlineStore['kind'], read: ReadObservation): void {
    this.readDuration.observe({ store: kind }, read.seconds);
    this.batchKeys.observe({ store: kind }, read.keys);
    for (const v of read.views) {
      if (v.oldestAgeSeconds !== undefined) this.age.observe({ view: v.table }, v.oldestAgeSeconds);
      if (v.hits > 0) this.lookups.inc({ view: v.table, result: 'hit' }, v.hits);
      if (v.misses > 0) this.lookups.inc({ view: v.table, result: 'miss' }, v.misses);
    }
  }

  /** The same store, with every read measured. */
  instrument(store: OnlineStore): OnlineStore {
    return observedStore(store, (read) => this.recordRead(store.kind, read));
  }
}

/** What one store read did: its keys and time, and per view version its hits, misses and its oldest value's age. */
export interface ReadObservation {
  keys: number;
  seconds: number;
  views: { table: string; hits: number; misses: number; oldestAgeSeconds?: number }[];
}

/** The same store, each read handed to `observe` once it is done. */
export function observedStore(store: OnlineStore, observe: (read: ReadObservation) => void): OnlineStore {
  return {
    kind: store.kind,
    url: store.url,
    write: (table, records, expireAfterMs, now) => store.write(table, records, expireAfterMs, now),
    stats: () => store.stats(),
    drop: (table) => store.drop(table),
    close: () => store.close(),
    async read(requests) {
      const started = performance.now();
      const results = await store.read(requests);
      const seconds = (performance.now() - started) / 1000;
      const now = Date.now();
      observe({
        keys: requests.reduce((n, r) => n + r.keys.length, 0),
        seconds,
        views: requests.map((r, i) => {
          let oldest = Infinity;
          let hits = 0;
          for (const x of results[i]!)
            if (x) {
              hits++;
              if (x.eventTs < oldest) oldest = x.eventTs;
            }
          // How old the oldest value of a view was: the online store's staleness, as served.
          const oldestAgeSeconds = oldest === Infinity ? undefined : (now - oldest) / 1000;
          return { table: r.table, hits, misses: r.keys.length - hits, oldestAgeSeconds };
        }),
      });
      return results;
    },
  };
}

/** Values by status, over columns of statuses. */
export function statusCounts(columns: readonly (readonly string[])[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const column of columns) for (const s of column) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
