import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import type { MeshPlatform } from '../../lineage/index.js';
import type { RunningMesh } from '../../gateway/inProcessMesh.js';
import { meshForTests } from '../../gateway/test/mesh.js';
import type { CostReport } from '../../observability/index.js';
import { consoleRoutes } from '../routes.js';
import { bearer } from '../../platform/test/helpers.js';

let platform: MeshPlatform;
let mesh: RunningMesh;

beforeAll(async () => {
  ({ platform, mesh } = await meshForTests((p) => (g) => consoleRoutes(p, g)));
});
afterAll(async () => mesh?.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${mesh.gateway.url}${path}`, { headers });
  return {
    status: res.status,
    body: (await res.json().catch(() => undefined)) as Record<string, unknown> & { code?: string },
    type: res.headers.get('content-type'),
  };
}
const token = (role: string, exp: number | string = '1h') =>
  new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('t')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(platform.config.auth.jwtSecret));

describe("the console's API: who may read what", () => {
  it('refuses a missing, forged or expired token (401) and a role the policy does not know (403)', async () => {
    for (const path of ['/console/api/whoami', '/console/api/slo', '/console/api/cost', '/console/api/schemas']) {
      expect((await get(path)).status, path).toBe(401);
      expect((await get(path, { authorization: 'Bearer forged.token.here' })).status, path).toBe(401);
      expect(
        (await get(path, { authorization: `Bearer ${await token('admin', Math.floor(Date.now() / 1000) - 60)}` }))
          .status,
        path,
      ).toBe(401);
      const unknown = await get(path, { authorization: `Bearer ${await token('intern')}` });
      expect([unknown.status, unknown.body.code], path).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('identity, SLO state and published schemas are open to every known role', async () => {
    for (const role of ['admin', 'analyst', 'ml-engineer', 'operator', 'sales-owner']) {
      const auth = await bearer(platform, role);
      expect((await get('/console/api/whoami', auth)).body).toMatchObject({ role });
      expect((await get('/console/api/slo', auth)).status, role).toBe(200);
      const schemas = await get('/console/api/schemas', auth);
      expect(schemas.status, role).toBe(200);
      // Where subgraphs listen is for operators and admins.
      const urls = (schemas.body as unknown as { url?: string }[]).map((s) => s.url);
      if (role === 'admin' || role === 'operator')
        expect(
          urls.every((u) => u?.startsWith('http')),
          role,
        ).toBe(true);
      else
        expect(
          urls.every((u) => u === undefined),
          role,
        ).toBe(true);
    }
  });

  it('cost: operators see every domain, a domain owner only its own, analysts and ML engineers nothing', async () => {
    for (const role of ['admin', 'operator']) {
      const all = (await get('/console/api/cost', await bearer(platform, role))).body as unknown as CostReport;
      expect(all.domains.map((d) => d.domain).sort(), role).toEqual([
        'campaigns',
        'catalog',
        'fulfillment',
        'payments',
        'platform',
        'sales',
      ]);
    }
    const owner = (await get('/console/api/cost', await bearer(platform, 'payments-owner')))
      .body as unknown as CostReport;
    expect(owner.domains.map((d) => d.domain)).toEqual(['payments']);
    expect(Object.keys(owner.queryLoad?.bySubgraph ?? {}).every((s) => s === 'payments')).toBe(true);
    for (const role of ['analyst', 'ml-engineer']) {
      const refused = await get('/console/api/cost', await bearer(platform, role));
      expect([refused.status, refused.body.code], role).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('an API path the console does not have is a JSON 404, and only GET is served', async () => {
    const auth = await bearer(platform, 'admin');
    const unknown = await get('/console/api/nothing-here', auth);
    expect([unknown.status, unknown.type, unknown.body.code]).toEqual([404, 'application/problem+json', 'NOT_FOUND']);
    const post = await fetch(`${mesh.gateway.url}/console/api/slo`, { method: 'POST', headers: auth });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  });

  it('a malformed path is a 400, and the mesh keeps serving', async () => {
    const res = await fetch(`${mesh.gateway.url}/console/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect((await fetch(`${mesh.gateway.url}/health`)).status).toBe(200);
  });
});
