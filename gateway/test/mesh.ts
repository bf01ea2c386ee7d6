import type { MeshPlatform } from '../../lineage/index.js';
import { listDomains } from '../../platform/domains.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { startMesh, type RunningMesh } from '../inProcessMesh.js';
import type { GatewayOptions } from '../server.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';
import { applyFeatures, computeFeatures, createOnlineStore, materialize } from '../../feature-subgraph/index.js';

export const MESH_DATA = { scale: 0.3, seed: 21, days: 60, end: '2026-11-01T00:00:00.000Z' };

/**
 * A platform with generated, curated data and the whole mesh running on free ports; with `features`, every feature
 * view computed and materialized too, and the feature server running.
 */
export async function meshForTests(
  routes?: (platform: MeshPlatform) => GatewayOptions['routes'],
  env: Record<string, string> = {},
  options: { features?: boolean } = {},
): Promise<{ platform: MeshPlatform; mesh: RunningMesh }> {
  const platform = testMeshPlatform({ MESH_GATEWAY_PORT: '0', ...env });
  await generateMarketplace(platform.store, MESH_DATA);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  if (options.features) {
    await applyFeatures(platform);
    await computeFeatures(platform);
    const online = createOnlineStore(platform.config.online);
    await materialize(platform, online, { incremental: true, end: new Date(MESH_DATA.end) });
    await online.close();
  }
  const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true, routes: routes?.(platform) });
  return { platform, mesh };
}
