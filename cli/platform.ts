import { createPlatform, loadConfig, type MeshConfig, type ObjectStore } from '../platform/index.js';
import { createLineage, type MeshPlatform } from '../lineage/index.js';

/**
 * The platform as the CLI runs it: configuration from the environment (or `config`), the lineage layer's transports,
 * spool and graph behind the runtime's lineage port. Composed here, at the top, where every layer may be imported.
 */
export function createMeshPlatform(config: MeshConfig = loadConfig(), store?: ObjectStore): MeshPlatform {
  return createPlatform(config, { store, lineage: createLineage });
}
