import DataLoader from 'dataloader';
import type { OnlineRecord, OnlineStore } from '../online/types.js';

/** The request's batching reader of online records (one store read per view and tick). */
export type OnlineLoader = DataLoader<{ table: string; key: string }, OnlineRecord | undefined, string>;

/**
 * Per request: every online lookup made while resolving one GraphQL operation (entity fields of many customers, several
 * views) is collected by DataLoader and answered by one read of the store.
 */
export function onlineLoader(store: OnlineStore): OnlineLoader {
  return new DataLoader(
    async (lookups) => {
      const tables = [...new Set(lookups.map((l) => l.table))];
      const requests = tables.map((table) => ({
        table,
        keys: [...new Set(lookups.filter((l) => l.table === table).map((l) => l.key))],
      }));
      const results = await store.read(requests);
      const byId = new Map<string, OnlineRecord | undefined>();
      requests.forEach((r, i) => r.keys.forEach((k, j) => byId.set(`${r.table}\u0000${k}`, results[i]![j])));
      return lookups.map((l) => byId.get(`${l.table}\u0000${l.key}`));
    },
    { cacheKeyFn: (l) => `${l.table}\u0000${l.key}` },
  );
}
