import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../platform/index.js';
import { Duck, sqlString } from '../../platform/duckdb.js';
import { signInternalIdentity, IDENTITY_HEADER } from '../../platform/auth.js';
import { computeFeatures } from '../featureStore.js';
import { loadRegistry, resolveFeatures, tableId } from '../registry.js';
import { materialize } from '../materialize.js';
import { getHistoricalFeatures, writeTrainingSet } from '../offline/historical.js';
import { requireOfflineTable } from '../offline/table.js';
import { RedisOnlineStore, SqliteOnlineStore, type OnlineStore } from '../online/index.js';
import { startFeatureServer, type RunningFeatureServer } from '../server/featureServer.js';
import { FeatureClient } from './featureClient.js';
import type { FeastResponse } from '../server/getOnlineFeatures.js';
import { SMALL } from '../../jobs/test/helpers.js';
import {
  metricValue,
  redisClusterForTests,
  redisForTests,
  tempDir,
  testPlatform,
  bearer,
  gql,
} from '../../platform/test/helpers.js';
import { platformWithFeatures } from './helpers.js';

const END = new Date(SMALL.end);
const DAY = 86_400_000;
let platform: Platform;
let entitiesCsv: string;
let customers: string[];

beforeAll(async () => {
  platform = await platformWithFeatures();
  const duck = await Duck.open();
  const sales = await loadRegistry(platform.store);
  const orders = await requireOfflineTable(platform.store, sales.views.customer_orders!.at(-1)!);
  customers = (
    await duck.all<{ customer_id: string }>(
      `SELECT DISTINCT customer_id FROM read_parquet(${sqlString(orders.path)}) ORDER BY 1`,
    )
  ).map((r) => r.customer_id);
  // Entity rows at random times, before, inside and after the data, plus unknown customers.
  entitiesCsv = path.join(tempDir(), 'entities.csv');
  const rows = ['customer_id,event_timestamp,label'];
  for (let i = 0; i < 3000; i++) {
    const c = i % 50 === 0 ? `c-unknown-${i}` : customers[(i * 7919) % customers.length]!;
    rows.push(`${c},${new Date(END.getTime() - ((i * 104729) % (50 * DAY))).toISOString()},${i}`);
  }
  fs.writeFileSync(entitiesCsv, `${rows.join('\n')}\n`);
  duck.close();
});

describe('offline store', () => {
  it('computes every view from curated data, content-addressed: a rerun writes the same objects', async () => {
    const registry = await loadRegistry(platform.store);
    const views = Object.values(registry.views).map((v) => v.at(-1)!);
    const before = await Promise.all(views.map((v) => requireOfflineTable(platform.store, v)));
    expect(before.every((t) => t.manifest.rows > 0 && t.manifest.unique && t.manifest.rejected === 0)).toBe(true);
    const again = await computeFeatures(platform);
    expect(again.map((m) => m.key).sort()).toEqual(before.map((t) => t.manifest.key).sort());
    expect(again.map((m) => m.latest!.key).sort()).toEqual(before.map((t) => t.manifest.latest!.key).sort());
  });

  it('keeps beside each table its latest row per entity, equal to a window over the table', async () => {
    const registry = await loadRegistry(platform.store);
    const duck = await Duck.open();
    try {
      for (const view of Object.values(registry.views).map((v) => v.at(-1)!)) {
        const { manifest, path: table } = await requireOfflineTable(platform.store, view);
        const latest = await platform.store.localPath(manifest.latest!.key);
        const keys = view.joinKeys.join(', ');
        const oracle = `SELECT * EXCLUDE (r) FROM (SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY
          event_timestamp DESC, created_timestamp DESC) AS r FROM read_parquet(${sqlString(table)}, hive_partitioning
            = false)) WHERE r = 1`;
        const kept = `SELECT ${keys}, event_timestamp, ${view.features.map((f) => f.name).join(', ')},
          created_timestamp FROM read_parquet(${sqlString(latest)}, hive_partitioning = false)`;
        const diff = await duck.one<{ n: number }>(
          `SELECT count(*)::INTEGER AS n FROM ((${oracle} EXCEPT ALL ${kept}) UNION ALL (${kept} EXCEPT
            ALL ${oracle}))`,
        );
        expect(diff.n, tableId(view)).toBe(0);
        expect(manifest.latest!.rows, tableId(view)).toBe(
          (
            await duck.one<{ n: number }>(
              `SELECT count(DISTINCT (${keys}))::INTEGER AS n FROM read_parquet(${sqlString(table)}, hive_partitioning
                = false)`,
            )
          ).n,
        );
      }
    } finally {
      duck.close();
    }
  });

  it('a training set of a 4-domain service equals a brute-force window join over the same tables', async () => {
    const out = path.join(tempDir(), 'train.parquet');
    const result = await writeTrainingSet(platform, {
      entities: entitiesCsv,
      service: 'customer_repurchase',
      fullFeatureNames: true,
      out,
    });
    expect(result.rows).toBe(3000);
    expect(result.columns.slice(0, 3)).toEqual(['customer_id', 'event_timestamp', 'label']);
    const registry = await loadRegistry(platform.store);
    const resolved = resolveFeatures(registry, { service: 'customer_repurchase', fullFeatureNames: true });
    expect(new Set(resolved.views.map((v) => v.view.domain))).toEqual(
      new Set(['sales', 'fulfillment', 'payments', 'campaigns']),
    );
    expect(result.columns.slice(3)).toEqual(resolved.names);

    // The oracle: every candidate row via a range join, the latest by (event, created) per entity row, TTL applied.
    const duck = await Duck.open();
    await duck.run(`SET TimeZone = 'UTC'`);
    await duck.run(
      `CREATE TABLE e AS SELECT *, row_number() OVER () AS rn FROM read_csv(${sqlString(entitiesCsv)}, header = true)`,
    );
    let select = 'SELECT e.rn';
    let from = 'e';
    for (const [i, v] of resolved.views.entries()) {
      const { path: file } = await requireOfflineTable(platform.store, v.view);
      await duck.run(
        `CREATE TABLE o${i} AS SELECT e.rn, f.* FROM e JOIN read_parquet(${sqlString(file)}) f ON f.customer_id =
          e.customer_id AND f.event_timestamp <= e.event_timestamp::TIMESTAMP AND f.event_timestamp >=
            e.event_timestamp::TIMESTAMP - INTERVAL ${v.view.ttlSeconds} SECOND QUALIFY row_number() OVER (PARTITION
              BY e.rn ORDER BY f.event_timestamp DESC, f.created_timestamp DESC) = 1`,
      );
      select += `, ${v.features.map((f, j) => `o${i}.${f.name} AS "${v.outputNames[j]}"`).join(', ')}`;
      from += ` LEFT JOIN o${i} USING (rn)`;
    }
    const expected = await duck.all(`${select} FROM ${from} ORDER BY e.rn`);
    const actual = await duck.all(
      `SELECT * EXCLUDE (customer_id, event_timestamp, label) FROM read_parquet(${sqlString(out)})`,
    );
    duck.close();
    expect(actual).toEqual(expected.map(({ rn: _, ...rest }) => rest));
    // Real signal, not all nulls: most known customers have a value.
    expect(actual.filter((r) => r.customer_orders__total_spend_90d !== null).length).toBeGreaterThan(2000);
  });

  it('names what is wrong with the entity rows', async () => {
    const bad = path.join(tempDir(), 'bad.csv');
    fs.writeFileSync(bad, 'user,event_timestamp\nx,2026-10-01\n');
    await expect(
      writeTrainingSet(platform, {
        entities: bad,
        features: ['customer_orders:total_spend_90d'],
        out: path.join(tempDir(), 'x.parquet'),
      }),
    ).rejects.toThrow(/lack column\(s\) customer_id/);
    await expect(
      getHistoricalFeatures(platform, { entities: '/nope.csv', features: ['customer_orders:total_spend_90d'] }),
    ).rejects.toThrow(/does not exist/);
  });
});

/** Historical values at `at` for every customer, keyed by customer. */
async function historicalAt(at: Date, features: string[]): Promise<Map<string, Record<string, unknown>>> {
  const file = path.join(tempDir(), 'at.csv');
  fs.writeFileSync(
    file,
    `customer_id,event_timestamp\n${customers.map((c) => `${c},${at.toISOString()}`).join('\n')}\n`,
  );
  const rows = await getHistoricalFeatures(platform, { entities: file, features, fullFeatureNames: true });
  return new Map(rows.map((r) => [r.customer_id as string, r]));
}

function onlineContract(name: string, open: () => Promise<OnlineStore | undefined>) {
  describe(`materialization and serving on ${name}`, () => {
    let online: OnlineStore | undefined;
    let server: RunningFeatureServer;
    let p: Platform;
    beforeAll(async () => {
      online = await open();
      if (!online) return;
      // Its own registry (watermarks) over the same offline tables.
      p = testPlatform({ MESH_DATA_DIR: platform.config.dataDir });
      server = await startFeatureServer(p, { port: 0, online });
    });
    afterAll(async () => {
      await server?.close();
      await online?.close();
    });

    it(
      'incremental materialization: watermarks, idempotent reruns, never an older value over a newer one, online = ' +
        'offline',
      async (ctx) => {
        if (!online) return ctx.skip();
        const views = ['customer_orders', 'customer_delivery'];
        const mid = new Date(END.getTime() - 10 * DAY);
        const first = await materialize(p, online, { incremental: true, end: mid, views });
        expect(first.every((r) => r.written > 0 && r.start === new Date(0).toISOString())).toBe(true);
        const second = await materialize(p, online, { incremental: true, end: END, views });
        expect(second.every((r) => r.start === mid.toISOString() && r.written > 0)).toBe(true);
        expect((await loadRegistry(p.store)).materialization[online.url]!['customer_orders@v1']!.watermark).toBe(
          END.toISOString(),
        );
        const rerun = await materialize(p, online, { incremental: true, end: END, views });
        expect(rerun.every((r) => r.written === 0)).toBe(true);
        const older = await materialize(p, online, { start: new Date(0), end: mid, views });
        expect(older.every((r) => r.written === 0 && r.skipped === r.rows && r.rows > 0)).toBe(true);

        const refs = ['customer_orders:*', 'customer_delivery:*'];
        const offline = await historicalAt(END, refs);
        const registry = await loadRegistry(p.store);
        const resolved = resolveFeatures(registry, { features: refs, fullFeatureNames: true });
        const [orders, delivery] = await online.read(
          resolved.views.map((v) => ({ table: tableId(v.view), keys: customers })),
        );
        let compared = 0;
        customers.forEach((c, i) => {
          const o = offline.get(c)!;
          for (const [j, rec] of [orders![i], delivery![i]].entries()) {
            const v = resolved.views[j]!;
            const expected = v.outputNames.map((n) => o[n] ?? null);
            expect(rec ? rec.values : v.features.map(() => null)).toEqual(expected);
            compared += expected.length;
          }
        });
        expect(compared).toBeGreaterThan(customers.length * 9);
      },
    );

    it("answers Feast's /get-online-features: grouped by feature, statuses, event times, TTL honoured", async (ctx) => {
      if (!online) return ctx.skip();
      await materialize(p, online, { incremental: true, end: END });
      const stale = `c-stale-${randomUUID().slice(0, 6)}`;
      await online.write(
        'customer_orders@v1',
        [{ key: stale, eventTs: p.now() - 91 * DAY, createdTs: p.now() - 91 * DAY, values: [1, 1, 10, 10, 0, 3] }],
        0,
      );
      const client = new FeatureClient({
        url: server.url,
        token: (await bearer(p, 'ml-engineer')).authorization!.slice(7),
      });
      const body = await client.getOnlineFeatures({
        features: ['customer_orders:total_purchases_30d', 'customer_payments:failed_payment_rate_90d'],
        entities: { customer_id: [customers[0]!, 'c-nobody', stale] },
      });
      expect(body.metadata.feature_names).toEqual(['customer_id', 'total_purchases_30d', 'failed_payment_rate_90d']);
      expect(body.results[0]).toEqual({
        values: [customers[0], 'c-nobody', stale],
        statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
        event_timestamps: Array(3).fill('1970-01-01T00:00:00Z'),
      });
      expect(body.results[1]!.statuses).toEqual(['PRESENT', 'NOT_FOUND', 'OUTSIDE_MAX_AGE']);
      expect(body.results[1]!.values[1]).toBeNull();
      expect(body.results[1]!.values[2]).toBeNull();
      expect(body.results[1]!.event_timestamps[0]).toBe(END.toISOString().replace('.000Z', 'Z'));
      expect(body.results[2]!.statuses).toEqual(['PRESENT', 'NOT_FOUND', 'NOT_FOUND']);
      expect(typeof body.results[1]!.values[0]).toBe('number');

      const offline = await historicalAt(END, ['customer_orders:total_purchases_30d']);
      expect(body.results[1]!.values[0]).toBe(offline.get(customers[0]!)!.customer_orders__total_purchases_30d);

      const service = await client.getOnlineVectors({
        featureService: 'customer_repurchase',
        fullFeatureNames: true,
        entities: { customer_id: customers.slice(0, 5) },
      });
      expect(service).toHaveLength(5);
      expect(Object.keys(service[0]!.values)).toContain('customer_campaigns__touches_30d');
    });

    it('refuses callers without a token and names bad requests', async (ctx) => {
      if (!online) return ctx.skip();
      const post = async (body: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(`${server.url}/get-online-features`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
        return {
          status: res.status,
          body: (await res.json()) as { code?: string; detail?: string } & FeastResponse,
        };
      };
      const ok = { features: ['customer_orders:total_purchases_30d'], entities: { customer_id: ['c-0000001'] } };
      expect((await post(ok)).body.code).toBe('UNAUTHENTICATED');
      expect((await post(ok)).status).toBe(401);
      const auth = await bearer(p, 'analyst');
      expect((await post({ ...ok, feature_service: 'customer_repurchase' }, auth)).body.detail).toMatch(
        /either features .* or a feature service/,
      );
      expect(
        (await post({ features: ['customer_orders:total_purchases_30d'], entities: { product_id: ['p-1'] } }, auth))
          .body,
      ).toMatchObject({
        status: 400,
        code: 'BAD_USER_INPUT',
        detail: 'entity row lacks join key "customer_id" needed by feature view customer_orders@v1',
      });
      expect((await post({ features: ['customer_orders:nope'], entities: { customer_id: ['c'] } }, auth)).status).toBe(
        404,
      );
      expect(
        (
          await post(
            { features: ['customer_orders:total_purchases_30d'], entities: { customer_id: ['a', 'b'], other: ['x'] } },
            auth,
          )
        ).body.detail,
      ).toMatch(/same length/);
    });

    it('batches every lookup of a GraphQL operation into one read of the online store', async (ctx) => {
      if (!online) return ctx.skip();
      let reads = 0;
      const counting: OnlineStore = Object.create(online, {
        read: { value: (r: Parameters<OnlineStore['read']>[0]) => (reads++, online!.read(r)) },
      });
      const s = await startFeatureServer(p, { port: 0, online: counting });
      try {
        const identity = await signInternalIdentity({ sub: 't', role: 'analyst' }, p.config.auth, 'features');
        const names =
          '["customer_orders:total_spend_90d", "customer_delivery:late_delivery_rate_90d", ' +
          '"customer_campaigns:touches_30d"]';
        const res = await gql<{
          _entities: {
            features: { name: string; value: unknown; status: string; eventTimestamp: string | null }[];
            featureValues: {
              names: string[];
              values: unknown[];
              statuses: string[];
              eventTimestamps: (string | null)[];
            };
          }[];
        }>(
          s.url,
          `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { features(names: ${names}) { name ` +
            `value status eventTimestamp } featureValues(names: ${names}) { names values statuses eventTimestamps } ` +
            `} } }`,
          { r: customers.slice(0, 40).map((id) => ({ __typename: 'Customer', id })) },
          { [IDENTITY_HEADER]: identity },
        );
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data!._entities).toHaveLength(40);
        expect(res.body.data!._entities[0]!.features.map((f) => f.name)).toEqual([
          'total_spend_90d',
          'late_delivery_rate_90d',
          'touches_30d',
        ]);
        // The flat lists say what the objects say, position by position, from the same read.
        for (const e of res.body.data!._entities) {
          expect(e.featureValues).toEqual({
            names: e.features.map((f) => f.name),
            values: e.features.map((f) => f.value),
            statuses: e.features.map((f) => f.status),
            eventTimestamps: e.features.map((f) => f.eventTimestamp),
          });
        }
        expect(res.body.data!._entities.some((e) => e.featureValues.statuses.includes('PRESENT'))).toBe(true);
        expect(reads).toBe(1);
        // The same read as metrics: one batch of 120 keys, hits and misses per view, answers by status on the GraphQL
        // path.
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        const store = online.kind;
        expect(metricValue(metrics, 'mesh_online_store_read_keys_count', { store })).toBe(1);
        expect(metricValue(metrics, 'mesh_online_store_read_keys_sum', { store })).toBe(120);
        for (const view of ['customer_orders@v1', 'customer_delivery@v1', 'customer_campaigns@v1']) {
          expect(
            (metricValue(metrics, 'mesh_online_store_lookups_total', { view, result: 'hit' }) ?? 0) +
              (metricValue(metrics, 'mesh_online_store_lookups_total', { view, result: 'miss' }) ?? 0),
          ).toBe(40);
        }
        // Both fields served each value.
        const statuses = res.body.data!._entities.flatMap((e) => [
          ...e.features.map((f) => f.status),
          ...e.featureValues.statuses,
        ]);
        for (const status of new Set(statuses))
          expect(metricValue(metrics, 'mesh_feature_values_served_total', { status, api: 'graphql' })).toBe(
            statuses.filter((x) => x === status).length,
          );
      } finally {
        await s.close();
      }
    });
  });
}

onlineContract('the embedded store', async () => new SqliteOnlineStore(path.join(tempDir(), 'online.sqlite')));
let redis: Awaited<ReturnType<typeof redisForTests>>;
onlineContract('Redis', async () => {
  redis = await redisForTests();
  return (
    redis && new RedisOnlineStore({ url: redis.url, cluster: false, keyPrefix: `fs:${randomUUID().slice(0, 8)}:` })
  );
});
let cluster: Awaited<ReturnType<typeof redisClusterForTests>>;
// The same materialization and serving on a 3-master Redis Cluster (keys of one read span slots on every node).
onlineContract('Redis Cluster', async () => {
  cluster = await redisClusterForTests();
  return (
    cluster && new RedisOnlineStore({ url: cluster.urls, cluster: true, keyPrefix: `fs:${randomUUID().slice(0, 8)}:` })
  );
});
afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
});
