import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../platform/index.js';
import { IDENTITY_HEADER, signInternalIdentity } from '../../platform/index.js';
import { currentViews, loadRegistry } from '../registry.js';
import { materialize } from '../materialize.js';
import { createOnlineStore, type OnlineStore } from '../online/index.js';
import { startFeatureServer, type RunningFeatureServer } from '../server/featureServer.js';
import type { FeastResponse } from '../server/getOnlineFeatures.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { platformWithFeatures } from './helpers.js';
import { bearer, gql, metricValue, recordingPlatform, testConfig } from '../../platform/test/helpers.js';
import { isMeshError, Metrics, signUserToken } from '../../platform/index.js';
import { FeastAdmission } from '../server/feastAdmission.js';

const END = new Date(SMALL.end);
let platform: Platform;
let server: RunningFeatureServer;
let online: OnlineStore;
let customers: string[];
/** Every customer feature as `view:feature`. */
let refs: string[];
/** The value of each reference for each test customer, asked alone. */
const alone = new Map<string, unknown[]>();

async function post(path: string, body: unknown, role = 'ml-engineer', headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await bearer(platform, role)), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as unknown };
}

const feast = async (body: unknown) => (await post('/get-online-features', body)).body as FeastResponse;

beforeAll(async () => {
  platform = await platformWithFeatures();
  online = createOnlineStore(platform.config.online);
  await materialize(platform, online, { incremental: true, end: END });
  server = await startFeatureServer(platform, { port: 0, online });
  const registry = await loadRegistry(platform.store);
  refs = currentViews(registry)
    .filter((v) => v.joinKeys.join() === 'customer_id')
    .flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`));
  customers = ['c-0000001', 'c-0000002', 'c-0000003', 'c-0000007', 'c-nobody'];
  for (const ref of refs)
    alone.set(ref, (await feast({ features: [ref], entities: { customer_id: customers } })).results[1]!.values);
  // Enough real values that a mix-up cannot hide among nulls.
  expect([...alone.values()].flat().filter((v) => v !== null).length).toBeGreaterThan(refs.length * 2);
});

afterAll(async () => {
  await server?.close();
  await online?.close();
});

/** A random feature list: any order, any mix of views, names full whenever two short names would collide. */
const featureLists = () =>
  fc
    .shuffledSubarray(
      refs.map((r) => r),
      { minLength: 1, maxLength: 12 },
    )
    .chain((list) => fc.record({ list: fc.constant(list), full: fc.boolean() }))
    .map(({ list, full }) => ({ list, full: full || new Set(list.map((r) => r.split(':')[1])).size < list.length }));

const nameOf = (ref: string, full: boolean) => (full ? ref.replace(':', '__') : ref.split(':')[1]!);

describe('every name carries its own value, whatever the order of the request', () => {
  it('Feast REST /get-online-features', async () => {
    await fc.assert(
      fc.asyncProperty(featureLists(), async ({ list, full }) => {
        const body = await feast({ features: list, entities: { customer_id: customers }, full_feature_names: full });
        expect(body.metadata.feature_names).toEqual(['customer_id', ...list.map((r) => nameOf(r, full))]);
        list.forEach((ref, i) =>
          expect(body.results[i + 1]!.values, `${ref} in ${list.join(', ')}`).toEqual(alone.get(ref)),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('Query.onlineFeatures and Customer.features on the features subgraph', async () => {
    const identity = {
      [IDENTITY_HEADER]: await signInternalIdentity(
        { sub: 't', role: 'ml-engineer' },
        platform.config.auth,
        'features',
      ),
    };
    await fc.assert(
      fc.asyncProperty(featureLists(), async ({ list, full }) => {
        const vectors = await gql<{ onlineFeatures: { features: { name: string; value: unknown }[] }[] }>(
          server.url,
          `query($f: [String!], $e: [FeatureEntityRow!]!, $full: Boolean) { onlineFeatures(features: $f, entities: ` +
            `$e, fullFeatureNames: $full) { features { name value } } }`,
          { f: list, e: customers.map((customer_id) => ({ customer_id })), full },
          identity,
        );
        expect(vectors.body.errors).toBeUndefined();
        const entities = await gql<{ _entities: { features: { name: string; value: unknown }[] }[] }>(
          server.url,
          `query($r: [_Any!]!, $f: [String!], $full: Boolean) { _entities(representations: $r) { ... on Customer { ` +
            `features(names: $f, fullNames: $full) { name value } } } }`,
          { r: customers.map((id) => ({ __typename: 'Customer', id })), f: list, full },
          identity,
        );
        expect(entities.body.errors).toBeUndefined();
        customers.forEach((_, c) => {
          for (const answer of [
            vectors.body.data!.onlineFeatures[c]!.features,
            entities.body.data!._entities[c]!.features,
          ]) {
            expect(answer.map((f) => f.name)).toEqual(list.map((r) => nameOf(r, full)));
            list.forEach((ref, i) =>
              expect(answer[i]!.value, `${ref} in ${list.join(', ')}`).toEqual(alone.get(ref)![c]),
            );
          }
        });
      }),
      { numRuns: 25 },
    );
  });
});

describe("what a client written against Feast's server expects", () => {
  it('writes a Float64 by its type: a whole value stays 2.0, an Int64 stays 2', async () => {
    const pushed = await post('/write-to-online-store', {
      feature_view_name: 'customer_orders',
      df: {
        customer_id: ['c-float'],
        event_timestamp: [END.toISOString()],
        total_purchases_30d: [2],
        num_transactions_7d: [1],
        avg_order_value_90d: [2],
        total_spend_90d: [4],
        return_rate_90d: [0],
        days_since_last_order: [3],
      },
    });
    expect(pushed.status).toBe(200);
    const res = await post('/get-online-features', {
      features: [
        'customer_orders:avg_order_value_90d',
        'customer_orders:total_purchases_30d',
        'customer_orders:return_rate_90d',
      ],
      entities: { customer_id: ['c-float'] },
    });
    expect(res.text).toContain('"values":[2.0]');
    expect(res.text).toContain('"values":[2]');
    expect(res.text).toContain('"values":[0.0]');
  });

  it('drops entity columns that are not join keys, and accepts view@latest', async () => {
    const body = await feast({
      features: ['customer_orders@latest:total_spend_90d'],
      entities: { customer_id: customers, note: customers.map(() => 'x') },
    });
    expect(body.metadata.feature_names).toEqual(['customer_id', 'total_spend_90d']);
    expect(body.results).toHaveLength(2);
    expect(body.results[1]!.values).toEqual(alone.get('customer_orders:total_spend_90d'));
  });

  it("answers errors in Feast's body when asked, keeping the mesh's code", async () => {
    const accept = { accept: 'application/vnd.feast.error+json' };
    const missing = await post(
      '/get-online-features',
      { features: ['nope:x'], entities: { customer_id: ['c'] } },
      'ml-engineer',
      accept,
    );
    expect(missing.status).toBe(404);
    expect(typeof missing.body).toBe('string');
    expect(JSON.parse(missing.body as string)).toMatchObject({
      module: 'feast.errors',
      class: 'FeatureViewNotFoundException',
      code: 'NOT_FOUND',
    });
    const collision = await post(
      '/get-online-features',
      {
        features: [
          'customer_orders:total_spend_90d',
          'customer_orders:total_spend_90d',
          'customer_payments:payments_90d',
        ],
        entities: { customer_id: ['c'] },
      },
      'ml-engineer',
      accept,
    );
    // Feast refuses a feature asked for twice; so does the mesh, naming it.
    expect(collision.status).toBe(400);
    expect(JSON.parse(collision.body as string)).toMatchObject({
      class: 'FeatureNameCollisionError',
      message: expect.stringMatching(/customer_orders@v1:total_spend_90d is asked for twice/),
    });
    const plain = await post('/get-online-features', { features: ['nope:x'], entities: { customer_id: ['c'] } });
    expect(plain.body).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('push: newer values win, older ones are kept out, and only roles that may write features can push', async () => {
    const row = (ts: string, spend: number) => ({
      push_source_name: 'customer_orders',
      df: {
        customer_id: ['c-pushed'],
        event_timestamp: [ts],
        total_purchases_30d: [1],
        num_transactions_7d: [1],
        avg_order_value_90d: [spend],
        total_spend_90d: [spend],
        return_rate_90d: [null],
        days_since_last_order: [0],
      },
    });
    expect((await post('/push', row(END.toISOString(), 50))).body).toMatchObject({ written: 1 });
    expect((await post('/push', row(new Date(END.getTime() - 86_400_000).toISOString(), 10))).body).toMatchObject({
      written: 0,
      skipped: 1,
    });
    const read = await feast({
      features: ['customer_orders:total_spend_90d', 'customer_orders:return_rate_90d'],
      entities: { customer_id: ['c-pushed'] },
    });
    expect(read.results[1]!.values).toEqual([50]);
    expect(read.results[2]!.statuses).toEqual(['NULL_VALUE']);
    expect((await post('/push', row(END.toISOString(), 1), 'analyst')).status).toBe(403);
    const offline = await post('/push', { ...row(END.toISOString(), 1), to: 'online_and_offline' });
    expect(offline.status).toBe(400);
    expect(offline.body).toMatchObject({
      code: 'BAD_USER_INPUT',
      detail: expect.stringMatching(/offline tables are computed from contract-checked curated data/),
    });
    const typed = await post('/push', {
      ...row(END.toISOString(), 1),
      df: { ...row(END.toISOString(), 1).df, total_purchases_30d: ['many'] },
    });
    expect(typed.body).toMatchObject({ detail: 'push: row 0: total_purchases_30d must be Int64 (got "many")' });
    const short = await post('/push', { push_source_name: 'customer_orders', df: { customer_id: ['c'] } });
    expect((short.body as { detail: string }).detail).toMatch(/lacks column\(s\) event_timestamp, total_purchases_30d/);
  });

  it('materialize and materialize-incremental run for an operator, and no one else', async () => {
    expect((await post('/materialize-incremental', { end_ts: END.toISOString() }, 'ml-engineer')).status).toBe(403);
    const run = await post(
      '/materialize',
      { start_ts: new Date(0).toISOString(), end_ts: END.toISOString(), feature_views: ['customer_orders'] },
      'operator',
    );
    expect(run.status).toBe(200);
    expect(
      (
        await post(
          '/materialize-incremental',
          { end_ts: END.toISOString(), feature_views: ['customer_orders'] },
          'operator',
        )
      ).status,
    ).toBe(200);
    expect(
      (await post('/materialize', { start_ts: 'yesterday', end_ts: END.toISOString() }, 'admin')).body,
    ).toMatchObject({ code: 'BAD_USER_INPUT', detail: expect.stringMatching(/start_ts/) });
  });

  it('names looked up by a client are own names only: "constructor" is unknown, not a crash', async () => {
    expect(
      (await post('/get-online-features', { feature_service: 'constructor', entities: { customer_id: ['c'] } })).status,
    ).toBe(404);
    expect(
      (await post('/get-online-features', { features: ['constructor:x'], entities: { customer_id: ['c'] } })).status,
    ).toBe(404);
    expect(
      (await post('/get-online-features', { features: ['constructor@v1:x'], entities: { customer_id: ['c'] } })).status,
    ).toBe(404);
  });

  it('caps entity rows per request and names the cap', async () => {
    const res = await post('/get-online-features', {
      features: ['customer_orders:total_spend_90d'],
      entities: { customer_id: Array.from({ length: 10_001 }, (_, i) => `c-${i}`) },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ detail: expect.stringMatching(/at most 10000 entity rows/) });
  });

  it('caps the values of one answer (entity rows x features) and names the budget', async () => {
    const res = await post('/get-online-features', {
      feature_service: 'customer_repurchase',
      entities: { customer_id: Array.from({ length: 5_000 }, (_, i) => `c-${i}`) },
    });
    expect([res.status, (res.body as { code: string }).code]).toEqual([400, 'BAD_USER_INPUT']);
    expect((res.body as { detail: string }).detail).toMatch(/at most 50,000 values per request .* 5000 x 18 = 90,000/);
  });

  it('takes scalar entity keys only, naming the one that is not', async () => {
    for (const value of [{ $ne: 1 }, ['c-0000001', 'x'], null, Number.NaN]) {
      const res = await post('/get-online-features', {
        features: ['customer_orders:total_spend_90d'],
        entities: { customer_id: ['c-0000001', value] },
      });
      expect([res.status, (res.body as { code: string }).code], JSON.stringify(value)).toEqual([400, 'BAD_USER_INPUT']);
      expect((res.body as { detail: string }).detail).toMatch(
        /entities\.customer_id\[1\] must be a string or a number/,
      );
    }
  });

  it('answers POST of JSON only (405 with Allow, 415), every error as an RFC 9457 problem', async () => {
    const auth = await bearer(platform, 'ml-engineer');
    const get = await fetch(`${server.url}/get-online-features`, { headers: auth });
    expect([get.status, get.headers.get('allow'), get.headers.get('content-type')]).toEqual([
      405,
      'POST',
      'application/problem+json',
    ]);
    const xml = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...auth },
      body: JSON.stringify({ features: ['customer_orders:total_spend_90d'], entities: { customer_id: ['c'] } }),
    });
    expect([xml.status, ((await xml.json()) as { code: string }).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const nowhere = await fetch(`${server.url}/nowhere`);
    expect([nowhere.status, nowhere.headers.get('content-type')]).toEqual([404, 'application/problem+json']);
    // An open probe learns the kind of store, not where it is.
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({
      status: 'ok',
      subgraph: 'features',
      version: expect.any(String),
      onlineStore: 'sqlite',
    });
  });
});

describe('admission of Feast reads by size, per caller', () => {
  const LIMITS = { capacity: 1000, refillPerSecond: 10, heavyCost: 300, heavyConcurrency: 1, heavyWaitMs: 50 };

  it("a caller over budget gets 429 with Retry-After and the cost; another caller's budget is untouched", async () => {
    const env = {
      MESH_DATA_DIR: platform.config.dataDir,
      MESH_COST_BUDGET: String(LIMITS.capacity),
      MESH_COST_REFILL_PER_SECOND: String(LIMITS.refillPerSecond),
    };
    const budgeted = await startFeatureServer(recordingPlatform(testConfig(env), platform.store), { port: 0, online });
    try {
      const read = async (sub: string) =>
        fetch(`${budgeted.url}/get-online-features`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${await signUserToken({ sub, role: 'ml-engineer' }, platform.config.auth)}`,
          },
          // 2,000 rows x 18 features = 36,000 values: 720 points at 50 values a point.
          body: JSON.stringify({
            feature_service: 'customer_repurchase',
            entities: { customer_id: Array.from({ length: 2_000 }, (_, i) => `c-${i}`) },
          }),
        });
      expect((await read('trainer')).status).toBe(200);
      const refused = await read('trainer');
      expect([refused.status, refused.headers.get('content-type')]).toEqual([429, 'application/problem+json']);
      // 280 left of the 720 needed, refilling 10 a second: 44 seconds.
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(43);
      expect(await refused.json()).toMatchObject({
        status: 429,
        code: 'THROTTLED',
        detail: expect.stringMatching(/over budget: 36000 values cost 720 points and 28\d are left/),
        cost: { requestedQueryCost: 720, throttleStatus: { maximumAvailable: 1000, restoreRate: 10 } },
      });
      expect((await read('scorer')).status).toBe(200);
    } finally {
      await budgeted.close();
    }
  });

  it('a large read is answered by a worker thread, byte for byte as this thread answers it, and counted', async () => {
    // Without a store handed in, the server opens the configured one, and so does each of its threads.
    const threaded = await startFeatureServer(platform, { port: 0 });
    try {
      // 1,000 rows x 18 features = 18,000 values, 360 points: a large read.
      const body = JSON.stringify({
        feature_service: 'customer_repurchase',
        entities: { customer_id: Array.from({ length: 1_000 }, (_, i) => `c-${String(i + 1).padStart(7, '0')}`) },
      });
      const read = async (url: string) =>
        (
          await fetch(`${url}/get-online-features`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(await bearer(platform, 'ml-engineer')) },
            body,
          })
        ).text();
      const [inThread, inWorker] = [await read(server.url), await read(threaded.url)];
      expect(inWorker).toBe(inThread);
      expect((JSON.parse(inWorker) as FeastResponse).results[1]!.statuses).toContain('PRESENT');
      const metrics = await (await fetch(`${threaded.url}/metrics`)).text();
      expect(metricValue(metrics, 'mesh_online_store_read_keys_count', { store: 'sqlite' })).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(metrics, 'mesh_feature_values_served_total', { status: 'PRESENT', api: 'rest' }),
      ).toBeGreaterThan(0);
    } finally {
      await threaded.close();
    }
  });

  it('large reads take turns in the heavy pool and are refused when they cannot get in; small reads pass', async () => {
    const admission = new FeastAdmission(LIMITS, new Metrics('test'));
    const caller = (sub: string) => ({ sub, role: 'ml-engineer' });
    // 300 points (15,000 values) make a read heavy.
    const release = await admission.admit(caller('a'), 15_000);
    const waited = await admission.admit(caller('b'), 20_000).catch((e: unknown) => e);
    expect(isMeshError(waited, 'THROTTLED')).toBe(true);
    expect((waited as Error).message).toMatch(/heavy work is at capacity \(1 at once\); waited 50 ms/);
    // Below that a read never enters the pool, full as it is.
    (await admission.admit(caller('c'), 14_950))();
    const next = admission.admit(caller('d'), 15_000);
    release();
    (await next)();
  });
});

describe('replicas', () => {
  it('with several replicas, the feature server refuses the file-backed online store, naming REDIS_URL', async () => {
    const err = await startFeatureServer(recordingPlatform(testConfig({ MESH_REPLICAS: '2' }), platform.store), {
      port: 0,
    }).catch((e: unknown) => e);
    expect(isMeshError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/MESH_REPLICAS=2.*SQLite.*set REDIS_URL/);
    expect(testConfig({ MESH_REPLICAS: '2', REDIS_URL: 'redis://127.0.0.1:1' }).online.kind).toBe('redis');
  });
});
