import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshPlatform } from '../../lineage/index.js';
import { REPO_ROOT } from '../../platform/config.js';
import { signUserToken } from '../../platform/auth.js';
import { writeAtomic } from '../../platform/files.js';
import { composeSupergraph, loadSupergraphConfig } from '../../governance/composition.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';
import { gql } from '../../platform/test/helpers.js';
import { startGateway, type RunningGateway } from '../index.js';

/** How long the stub subgraph takes over an analytical field: far longer than any lookup. */
const HEAVY_MS = 1_500;
const REVENUE = 'query($from: String!) { dailyRevenue(from: $from, to: "2026-10-31") { date revenueEur } }';
/** dailyRevenue: 31 rows assumed, weighing 20 each (subgraphs/sales/schema.graphql). */
const REVENUE_COST = 620;

let platform: MeshPlatform;
let gateway: RunningGateway;
let stub: http.Server;
/** Subgraph requests the stub has answered, by root field. */
const served: string[] = [];

/** Every subgraph at one address: customers answer at once, daily revenue after HEAVY_MS. */
async function startStub(): Promise<string> {
  stub = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const query = String((JSON.parse(body) as { query: string }).query);
      const heavy = query.includes('dailyRevenue');
      served.push(heavy ? 'dailyRevenue' : 'customer');
      const data = heavy
        ? { dailyRevenue: [{ date: '2026-10-01', orders: 1, items: 1, revenueEur: 1 }] }
        : { customer: { id: 'c-1' } };
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data })),
        heavy ? HEAVY_MS : 0,
      );
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
}

async function as(sub: string, role = 'analyst'): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signUserToken({ sub, role }, platform.config.auth)}` };
}

beforeAll(async () => {
  const stubUrl = await startStub();
  platform = testMeshPlatform({
    MESH_COST_BUDGET: '2000',
    MESH_COST_REFILL_PER_SECOND: '50',
    MESH_HEAVY_CONCURRENCY: '1',
    MESH_HEAVY_WAIT_MS: '300',
    MESH_RESPONSE_CACHE_ENTRIES: '0',
  });
  const supergraphFile = path.join(platform.config.dataDir, 'supergraph.graphql');
  const sdl = composeSupergraph(loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml'))).supergraphSdl;
  writeAtomic(supergraphFile, sdl.replace(/(@join__graph\(name: "\w+", url: )"[^"]+"/g, `$1"${stubUrl}/graphql"`));
  gateway = await startGateway(platform, { supergraphFile, port: 0 });
});
afterAll(async () => {
  await gateway?.close();
  stub?.close();
});

describe('admission control by cost, per caller', () => {
  it('every answer says what it cost and what its caller has left', async () => {
    const r = await gql(gateway.url, '{ customer(id: "c-1") { id } }', {}, await as('costed'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-mesh-query-cost')).toBe('1');
    expect(r.headers.get('ratelimit-limit')).toBe('2000');
    expect(r.headers.get('ratelimit-remaining')).toBe('1999');
  });

  it("a caller over budget gets 429 with Retry-After and the cost; another caller's budget is untouched", async () => {
    const greedy = await as('greedy');
    // 2,000 points pay three 620-point operations; the fourth finds 140 left, refilling 50 a second.
    for (const from of ['2026-10-01', '2026-10-02', '2026-10-03'])
      expect((await gql(gateway.url, REVENUE, { from }, greedy)).status).toBe(200);
    const refused = await gql(gateway.url, REVENUE, { from: '2026-10-04' }, greedy);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(Math.floor((REVENUE_COST - 140 - 50 * 6) / 50));
    expect(wait).toBeLessThanOrEqual(Math.ceil((REVENUE_COST - 140) / 50));
    const [error] = refused.body.errors!;
    expect(error!.extensions).toMatchObject({
      code: 'THROTTLED',
      cost: {
        requestedQueryCost: REVENUE_COST,
        throttleStatus: { maximumAvailable: 2000, restoreRate: 50 },
      },
    });
    expect(error!.message).toMatch(/over budget: this operation costs 620 points and \d+ are left/);
    // Refused before any subgraph was asked.
    expect(served.filter((s) => s === 'dailyRevenue')).toHaveLength(3);
    // A lookup of the same caller is cheap enough to pass; another caller's budget is whole.
    expect((await gql(gateway.url, '{ customer(id: "c-1") { id } }', {}, greedy)).status).toBe(200);
    const other = await gql(gateway.url, REVENUE, { from: '2026-10-05' }, await as('patient'));
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-remaining')).toBe(String(2000 - REVENUE_COST));
  });

  it('callers whose tokens name no subject share the budget of their role', async () => {
    const [one, two] = await Promise.all(
      [1, 2].map(async (n) => ({
        authorization: `Bearer ${await signUserToken({ sub: '', role: 'operator' }, platform.config.auth, `${n}h`)}`,
      })),
    );
    const first = await gql(gateway.url, REVENUE, { from: '2026-07-01' }, one);
    const second = await gql(gateway.url, REVENUE, { from: '2026-07-02' }, two);
    const spent = Number(first.headers.get('ratelimit-remaining')) - Number(second.headers.get('ratelimit-remaining'));
    // 620 taken, less what refilled between the two (50 a second).
    expect(spent).toBeGreaterThan(REVENUE_COST - 100);
    expect(spent).toBeLessThanOrEqual(REVENUE_COST);
  });

  it('an operation costing more than a whole budget is a 400 naming its cost, not a wait', async () => {
    const aliases = ['a', 'b', 'c', 'd'].map(
      (a) => `${a}: dailyRevenue(from: "2026-10-01", to: "2026-10-31") { date }`,
    );
    const r = await gql(gateway.url, `{ ${aliases.join(' ')} }`, {}, await as('ambitious'));
    expect(r.status).toBe(400);
    expect(r.body.errors![0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      cost: { requestedQueryCost: 4 * REVENUE_COST },
    });
    expect(r.body.errors![0]!.message).toMatch(/estimated at 2480 points, over the 2000 one request may cost/);
  });

  it('heavy work runs in a bounded pool: lookups pass it, heavy work that cannot get in in time is a 429', async () => {
    const callers = await Promise.all(['h1', 'h2', 'h3'].map((s) => as(s)));
    const order: string[] = [];
    const heavy = callers.map((c, i) =>
      gql(gateway.url, REVENUE, { from: `2026-09-0${i + 1}` }, c).then((r) => {
        order.push(`heavy ${r.status}`);
        return r;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lookup = await gql(gateway.url, '{ customer(id: "c-1") { id } }', {}, await as('cheap'));
    order.push(`lookup ${lookup.status}`);
    const answers = await Promise.all(heavy);
    // One heavy request runs (the pool holds one); the others waited 300 ms and were refused with a Retry-After.
    expect(answers.map((r) => r.status).sort()).toEqual([200, 429, 429]);
    for (const r of answers.filter((a) => a.status === 429)) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.errors![0]!.extensions).toMatchObject({
        code: 'THROTTLED',
        cost: { requestedQueryCost: REVENUE_COST },
      });
      expect(r.body.errors![0]!.message).toMatch(/heavy work is at capacity \(1 at once\)/);
    }
    // The lookup never queued behind the heavy request running: it was answered while that one still ran.
    expect(order.indexOf('lookup 200')).toBeLessThan(order.indexOf('heavy 200'));
    expect(order.indexOf('lookup 200')).toBeGreaterThanOrEqual(0);
  });

  it('REST calls spend the same budget: 429 as a problem with the cost and Retry-After', async () => {
    const auth = await as('rest-greedy');
    const get = (from: string) =>
      fetch(`${gateway.url}/sales/v1/daily-revenue?from=${from}&to=2026-10-31`, { headers: auth });
    for (const from of ['2026-08-01', '2026-08-02', '2026-08-03']) {
      const ok = await get(from);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-mesh-query-cost')).toBe(String(REVENUE_COST));
    }
    const refused = await get('2026-08-04');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-limit')).toBeNull();
    const problem = (await refused.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      status: 429,
      code: 'THROTTLED',
      cost: { requestedQueryCost: REVENUE_COST, throttleStatus: { maximumAvailable: 2000 } },
    });
  });

  it('counts refusals by reason, and the cost of what it admits', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const count = (reason: string) =>
      Number(
        new RegExp(`^mesh_requests_throttled_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1],
      );
    expect(count('budget')).toBeGreaterThanOrEqual(2);
    expect(count('pool')).toBe(2);
    expect(text).toMatch(/^mesh_request_cost_points_count(\{[^}]*\})? \d+/m);
    // Nothing heavy runs or waits once every request was answered.
    expect(text).toMatch(/^mesh_heavy_requests\{[^}]*state="running"[^}]*\} 0$/m);
    expect(text).toMatch(/^mesh_heavy_requests\{[^}]*state="waiting"[^}]*\} 0$/m);
  });
});
