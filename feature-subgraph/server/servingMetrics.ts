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

  /** How old the oldest value of a view was in each read: the online store's staleness, as served. */
  private observeAge(view: string, records: ({ eventTs: number } | undefined)[], now: number): void {
    let oldest = Infinity;
    for (const r of records) if (r && r.eventTs < oldest) oldest = r.eventTs;
    if (oldest !== Infinity) this.age.observe({ view }, (now - oldest) / 1000);
  }

  countServed(columns: readonly (readonly string[])[], api: 'graphql' | 'rest'): void {
    const counts = new Map<string, number>();
    for (const column of columns) for (const s of column) counts.set(s, (counts.get(s) ?? 0) + 1);
    for (const [status, n] of counts) this.served.inc({ status, api }, n);
  }

  /** The same store, with every read measured. */
  instrument(store: OnlineStore): OnlineStore {
    const m = this;
    return {
      kind: store.kind,
      url: store.url,
      write: (table, records, expireAfterMs, now) => store.write(table, records, expireAfterMs, now),
      stats: () => store.stats(),
      drop: (table) => store.drop(table),
      close: () => store.close(),
      async read(requests) {
        const end = m.readDuration.startTimer({ store: store.kind });
        const results = await store.read(requests);
        end();
        m.batchKeys.observe(
          { store: store.kind },
          requests.reduce((n, r) => n + r.keys.length, 0),
        );
        const now = Date.now();
        requests.forEach((r, i) => {
          m.observeAge(r.table, results[i]!, now);
          const hits = results[i]!.filter((x) => x !== undefined).length;
          if (hits > 0) m.lookups.inc({ view: r.table, result: 'hit' }, hits);
          if (r.keys.length > hits) m.lookups.inc({ view: r.table, result: 'miss' }, r.keys.length - hits);
        });
        return results;
      },
    };
  }
}
