import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { type MeshPlatform } from '../../lineage/platformLineage.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { startMesh, EXAMPLE_QUERY, type RunningMesh } from '../inProcessMesh.js';
import { MESH_DATA } from './mesh.js';
import { meshPlatform } from '../../lineage/test/helpers.js';
import { bearer, gql, metricValue, tempDir, TEST_NOW } from '../../platform/test/helpers.js';
import { queryCurated } from '../../products/test/helpers.js';

/**
 * The serving copy (key lookups from memory) and the response cache (whole answers per data version and role) against
 * the same mesh without them: every answer must be identical, and neither may outlive a publication.
 */
let platform: MeshPlatform;
let fast: RunningMesh;
let plain: RunningMesh;
let customers: string[];

const PAGED =
  `query Paged($id: ID!, $after: String) {
  customer(id: $id) {
    id email
    orders(first: 2, after: $after) { id cursor placedAt total items { lineNo quantity product { id name } } ` +
  `shipments ` +
  `{ id status } payments { id amount } }
    campaignTouches(first: 2) { touchedAt converted campaign { name } }
  }
}`;

beforeAll(async () => {
  const env = { MESH_DATA_DIR: tempDir(), MESH_LOG_LEVEL: 'silent', MESH_NOW: TEST_NOW, MESH_GATEWAY_PORT: '0' };
  platform = meshPlatform(loadConfig(env));
  await generateMarketplace(platform.store, MESH_DATA);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  fast = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
  // The same data, every lookup answered by DuckDB (no serving copy) and no response cache; its own
  // supergraph file, or each gateway would reload the other's and route to its subgraphs.
  const slow = meshPlatform(
    loadConfig({
      ...env,
      MESH_SERVING_COPY: 'false',
      MESH_RESPONSE_CACHE_ENTRIES: '0',
      MESH_SUPERGRAPH_FILE: path.join(tempDir(), 'supergraph.graphql'),
    }),
  );
  plain = await startMesh(slow, { gatewayPort: 0, randomPorts: true });
  const rows = await queryCurated<{ customer_id: string }>(
    platform,
    `SELECT customer_id FROM o GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 40`,
    { o: ['sales', 'orders'] },
  );
  customers = [...rows.map((r) => r.customer_id), 'c-9999999'];
}, 120_000);
afterAll(async () => {
  await fast?.close();
  await plain?.close();
});

describe('the serving copy', () => {
  it('answers key lookups, lists and keyset pages exactly as DuckDB does, for every role, without DuckDB', async () => {
    let pages = 0;
    for (const role of ['analyst', 'sales-owner', 'admin']) {
      const auth = await bearer(platform, role);
      for (const id of customers) {
        let after: string | undefined;
        const paged: string[] = [];
        do {
          const [a, b] = await Promise.all([
            gql(fast.gateway.url, PAGED, { id, after }, auth),
            gql(plain.gateway.url, PAGED, { id, after }, auth),
          ]);
          expect(a.body, `${id} after ${after} as ${role}`).toEqual(b.body);
          expect(Number(a.headers.get('x-mesh-duckdb-queries')), 'served from memory').toBe(0);
          expect(Number(b.headers.get('x-mesh-duckdb-queries')), 'the reference reads DuckDB').toBeGreaterThan(0);
          const orders = (a.body.data?.customer as { orders: { id: string; cursor: string }[] } | null)?.orders ?? [];
          paged.push(...orders.map((o) => o.id));
          after = orders.length === 2 ? orders[1]!.cursor : undefined;
          pages++;
        } while (after);
        // Pages of two, concatenated, are the whole list: no order twice, none missing (an oracle apart from both
        // paths).
        const whole = await gql<{ customer: { orders: { id: string }[] } | null }>(
          fast.gateway.url,
          `query($id: ID!) { customer(id: $id) { orders(first: 100) { id } } }`,
          { id },
          auth,
        );
        expect(paged, id).toEqual(whole.body.data!.customer?.orders.map((o) => o.id) ?? []);
      }
    }
    expect(pages).toBeGreaterThan(customers.length * 3);
  }, 120_000);
});

describe('without the serving copy', () => {
  it('DuckDB answers the same lookups in a bounded number of queries, whatever the list sizes (batching)', async () => {
    const id = customers[0]!;
    const q = (n: number) =>
      EXAMPLE_QUERY.replace('orders(first: 5)', `orders(first: ${n})`).replace(
        'campaignTouches(first: 5)',
        `campaignTouches(first: ${n})`,
      );
    const small = await gql<{ customer: { orders: unknown[] } }>(
      plain.gateway.url,
      q(1),
      { id },
      await bearer(platform, 'analyst'),
    );
    const large = await gql<{ customer: { orders: unknown[] } }>(
      plain.gateway.url,
      q(50),
      { id },
      await bearer(platform, 'analyst'),
    );
    expect(large.body.data!.customer.orders.length).toBeGreaterThan(small.body.data!.customer.orders.length);
    const count = (r: typeof small) => Number(r.headers.get('x-mesh-duckdb-queries'));
    expect(count(small)).toBeGreaterThan(0);
    expect(count(large)).toBe(count(small));
    // The batches, as metrics: the large request's order items come from one query over all its orders.
    const url = `${plain.subgraphs.find((s) => s.name === 'sales')!.url}/metrics`;
    const before = await (await fetch(url)).text();
    const again = await gql<{ customer: { orders: unknown[] } }>(
      plain.gateway.url,
      q(50),
      { id },
      await bearer(platform, 'admin'),
    );
    const after = await (await fetch(url)).text();
    const batches =
      metricValue(after, 'mesh_dataloader_batch_keys_count')! -
      metricValue(before, 'mesh_dataloader_batch_keys_count')!;
    const keys =
      metricValue(after, 'mesh_dataloader_batch_keys_sum')! - metricValue(before, 'mesh_dataloader_batch_keys_sum')!;
    expect(batches).toBeLessThanOrEqual(count(again));
    expect(keys).toBeGreaterThanOrEqual(again.body.data!.customer.orders.length);
  });
});

describe('the response cache', () => {
  it('serves a repeated query from the cache, identical, and never across roles', async () => {
    const id = customers[0]!;
    const analyst = await bearer(platform, 'analyst');
    const owner = await bearer(platform, 'sales-owner');
    // Stored on second sight: what is asked once (a different customer each time) costs the cache nothing.
    const first = await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst);
    const second = await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst);
    const again = await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst);
    expect([first, second, again].map((r) => r.headers.get('x-mesh-cache'))).toEqual(['miss', 'miss', 'hit']);
    expect(second.body).toEqual(first.body);
    expect(again.body).toEqual(first.body);
    expect(JSON.parse(again.headers.get('x-mesh-subgraph-fetches')!)).toEqual({});
    // The owner's answer has the clear email: never the analyst's cached token, in either order.
    const clear = await gql<{ customer: { email: string } }>(fast.gateway.url, EXAMPLE_QUERY, { id }, owner);
    expect(clear.headers.get('x-mesh-cache')).toBe('miss');
    await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, owner);
    expect(clear.body.data!.customer.email).toContain('@');
    expect((again.body.data as { customer: { email: string } }).customer.email).toMatch(/^tok_/);
    const clearAgain = await gql<{ customer: { email: string } }>(fast.gateway.url, EXAMPLE_QUERY, { id }, owner);
    expect(clearAgain.headers.get('x-mesh-cache')).toBe('hit');
    expect(clearAgain.body).toEqual(clear.body);
    // Denials are applied on a hit as on a miss: the analyst's card endings are withheld with their error both times.
    expect(again.body.errors?.map((e) => e.extensions?.code)).toContain('UNAUTHORIZED_FIELD_OR_TYPE');
  });

  it('keeps an answer until a publication, not for a time; then recomputes it from the new version', async () => {
    const id = customers[1]!;
    const analyst = await bearer(platform, 'analyst');
    await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst);
    await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(
      (await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst)).headers.get('x-mesh-cache'),
      'no expiry by time',
    ).toBe('hit');
    await runDomainPipeline(platform, listDomains(platform.config.domainsDir).find((d) => d.name === 'sales')!, {
      full: true,
    });
    // Within one look for new versions (2 s, as for subgraphs) the gateway sees the publication: the key space changes.
    const seen: string[] = [];
    for (let i = 0; i < 100 && !seen.includes('miss'); i++) {
      seen.push((await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst)).headers.get('x-mesh-cache')!);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen).toContain('miss');
    // The recomputed answer is cached once the subgraphs serve the new version too.
    let last = '';
    for (let i = 0; i < 100 && last !== 'hit'; i++) {
      last = (await gql(fast.gateway.url, EXAMPLE_QUERY, { id }, analyst)).headers.get('x-mesh-cache')!;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(last).toBe('hit');
  }, 30_000);

  it('does not cache answers from subgraphs that do not follow the data version (metadata, features)', async () => {
    const analyst = await bearer(platform, 'analyst');
    const q = `query { dataProducts { domain } }`;
    await gql(fast.gateway.url, q, {}, analyst);
    expect((await gql(fast.gateway.url, q, {}, analyst)).headers.get('x-mesh-cache')).not.toBe('hit');
    const metrics = await (await fetch(`${fast.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/mesh_response_cache_requests_total\{outcome="hit"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mesh_response_cache_requests_total\{outcome="uncacheable"[^}]*\} [1-9]/);
  });
});
