import { loadConfig, type MeshConfig } from './config.js';
import { createObjectStore, type ObjectStore } from './store/index.js';
import { createLogger, type Logger } from './log.js';

/** What every component gets from the platform: configuration, the object store, a logger. */
export interface Platform {
  config: MeshConfig;
  store: ObjectStore;
  log: Logger;
}

export function createPlatform(config: MeshConfig = loadConfig(), store?: ObjectStore): Platform {
  return { config, store: store ?? createObjectStore(config.store), log: createLogger(config.logLevel) };
}
