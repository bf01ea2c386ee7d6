import type { MeshConfig } from '../../platform/index.js';
import { RedisOnlineStore } from './redis.js';
import { SqliteOnlineStore } from './sqlite.js';
import type { OnlineStore } from './types.js';

export {
  onlineStoreUrl,
  type OnlineStore,
  type OnlineRecord,
  type OnlineWrite,
  type ReadRequest,
  type WriteResult,
} from './types.js';
export { RedisOnlineStore, SqliteOnlineStore };

/** Redis when REDIS_URL is set, otherwise the embedded SQLite file. */
export function createOnlineStore(config: MeshConfig['online']): OnlineStore {
  switch (config.kind) {
    case 'redis':
      return new RedisOnlineStore(config);
    case 'sqlite':
      return new SqliteOnlineStore(config.file);
  }
}
