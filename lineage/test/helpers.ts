import { createPlatform, type MeshConfig, type ObjectStore } from '../../platform/index.js';
import { testConfig } from '../../platform/test/helpers.js';
import { createLineage, type MeshPlatform } from '../platformLineage.js';

/**
 * A platform as the mesh runs it, on `config` (and `store`, else the configured one): the embedded lineage graph, spool
 * and any configured transport behind the lineage port.
 */
export function meshPlatform(config: MeshConfig, store?: ObjectStore): MeshPlatform {
  return createPlatform(config, { store, lineage: createLineage });
}

/** A platform as the mesh runs it on a fresh local data directory, its data clock pinned to TEST_NOW. */
export function testMeshPlatform(env: Record<string, string> = {}): MeshPlatform {
  return meshPlatform(testConfig(env));
}
