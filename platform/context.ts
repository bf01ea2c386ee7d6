import { loadConfig, type MeshConfig } from './config.js';
import { createObjectStore, type ObjectStore } from './store/index.js';
import { createLogger, type Logger } from './log.js';
import { createLineage, type Lineage } from '../lineage/index.js';

/** What every component gets from the platform: configuration, the object store, a logger, lineage. */
export interface Platform {
  config: MeshConfig;
  store: ObjectStore;
  log: Logger;
  /** Created on first use: its graph file and send timer cost nothing to components that never emit. */
  readonly lineage: Lineage;
}

export function createPlatform(config: MeshConfig = loadConfig(), store?: ObjectStore): Platform {
  const log = createLogger(config.logLevel);
  const objectStore = store ?? createObjectStore(config.store);
  let lineage: Lineage | undefined;
  return {
    config,
    store: objectStore,
    log,
    get lineage() {
      return (lineage ??= createLineage(config, objectStore.url, log));
    },
  };
}
