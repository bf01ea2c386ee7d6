import { signUserToken } from '../../platform/auth.js';
import type { MeshPlatform } from '../../lineage/index.js';
import { listDomains } from '../../platform/domains.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { startMesh, type RunningMesh } from '../inProcessMesh.js';
import type { GatewayOptions } from '../server.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';

export const MESH_DATA = { scale: 0.3, seed: 21, days: 60, end: '2026-11-01T00:00:00.000Z' };

/** A platform with generated, curated data and the whole mesh running on free ports. */
export async function meshForTests(
  routes?: (platform: MeshPlatform) => GatewayOptions['routes'],
  env: Record<string, string> = {},
): Promise<{ platform: MeshPlatform; mesh: RunningMesh }> {
  const platform = testMeshPlatform({ MESH_GATEWAY_PORT: '0', ...env });
  await generateMarketplace(platform.store, MESH_DATA);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true, routes: routes?.(platform) });
  return { platform, mesh };
}

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>['body'] };
}

export async function bearer(platform: MeshPlatform, role: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signUserToken({ sub: `test-${role}`, role }, platform.config.auth)}` };
}
