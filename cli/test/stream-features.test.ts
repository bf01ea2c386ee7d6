import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDomains } from '../../platform/index.js';
import { streamPublisher } from '../../jobs/pipeline/streamBatch.js';
import { natsInstalled, privateNats, type TestNats } from '../../platform/test/nats.js';
import { tempDir } from '../../platform/test/helpers.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';
import type { MeshPlatform } from '../../lineage/index.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { applyFeatures, computeFeatures } from '../../feature-subgraph/featureStore.js';
import { materialize } from '../../feature-subgraph/materialize.js';
import { createOnlineStore } from '../../feature-subgraph/online/index.js';
import { entityKey } from '../../feature-subgraph/online/codec.js';
import { currentView, loadRegistry, tableId } from '../../feature-subgraph/registry.js';
import { microBatchWork } from '../commands/schedule.js';

/**
 * Stream features with Feast push semantics: order events pushed online micro-batch by micro-batch (late ones and
 * several at one instant included) leave the online store holding what the batch computation of the same view
 * materializes, entity by entity.
 */
const END = '2026-11-01T00:00:00.000Z';
const VIEW = 'customer_recent_orders';
const CUSTOMERS = ['c-0000001', 'c-0000002', 'c-0000003', 'c-0000004'];
const available = natsInstalled() || Boolean(process.env.CI);

let nats: TestNats | undefined;
let platform: MeshPlatform;

beforeAll(async () => {
  nats = await privateNats();
  if (!nats) return;
  // The data clock at the end of the history: the pushed values are fresh, not expired.
  platform = testMeshPlatform({ MESH_STREAM_URL: nats.url, MESH_NOW: END });
  await generateMarketplace(platform.store, { scale: 0.05, seed: 5, days: 7, end: END });
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
}, 180_000);
afterAll(() => nats?.close());

/** An order created by one of a few customers in the last two days, at one of a few instants (so some coincide). */
const order = fc.record({
  customer: fc.constantFrom(...CUSTOMERS),
  minutesBefore: fc.oneof(fc.constantFrom(0, 30, 59, 60, 61, 24 * 60), fc.integer({ min: 0, max: 2 * 24 * 60 })),
  cents: fc.integer({ min: 1, max: 100_000 }),
});

let serial = 0;
function event(o: { customer: string; minutesBefore: number; cents: number }): { id: string; data: string } {
  const n = ++serial;
  const id = `oe-push-${String(n).padStart(6, '0')}`;
  const total = o.cents / 100;
  return {
    id,
    data: JSON.stringify({
      event_id: id,
      event_type: 'order_created',
      order_id: `o-push-${String(n).padStart(6, '0')}`,
      customer_id: o.customer,
      occurred_at: new Date(Date.parse(END) - o.minutesBefore * 60_000).toISOString(),
      channel: 'web',
      currency: 'EUR',
      total,
      items: [{ product_id: 'p-000001', quantity: 1, unit_price: total }],
    }),
  };
}

/**
 * The view's values online for these customers as pushed, and as the batch computation materializes them up to `end`
 * (event time and values, numbers as numbers).
 */
async function pushedAndComputed(p: MeshPlatform, customers: string[], end: string) {
  const view = currentView(await loadRegistry(p.store), VIEW)!;
  const keys = customers.map((c) => entityKey([c]));
  const pushedStore = createOnlineStore(p.config.online);
  const batchStore = createOnlineStore({ kind: 'sqlite', file: path.join(tempDir(), 'batch.sqlite') });
  try {
    await computeFeatures(p, { views: [VIEW] });
    await materialize(p, batchStore, { incremental: true, end: new Date(end), views: [VIEW] });
    const [[pushed], [computed]] = await Promise.all([
      pushedStore.read([{ table: tableId(view), keys }]),
      batchStore.read([{ table: tableId(view), keys }]),
    ]);
    const shape = (r: { eventTs: number; values: readonly unknown[] } | undefined) =>
      r && { eventTs: r.eventTs, values: r.values.map((v) => (v === null ? null : Number(v))) };
    return { pushed: pushed!.map(shape), computed: computed!.map(shape) };
  } finally {
    await Promise.all([pushedStore.close(), batchStore.close()]);
  }
}

describe.skipIf(!available)('stream features pushed online', () => {
  it('equal, entity by entity, what the batch computation of the view materializes', async () => {
    // The producer as the mesh's: events encoded with the registered Avro schema.
    const stream = (await streamPublisher(platform, 'sales', 'order_events'))!;
    const work = microBatchWork(platform);
    let compared = 0;
    // Pushes reach the customers the events name; the others keep what materialization gave them (here: nothing).
    const touched = new Set<string>();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(order, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
          async (batches) => {
            // Each batch published and pushed as one micro-batch, in arrival order (event times in any order).
            for (const batch of batches) {
              for (const o of batch) touched.add(o.customer);
              await stream.publish(batch.map(event));
              await work('sales', async () => {});
            }
            const { pushed, computed } = await pushedAndComputed(platform, [...touched].sort(), END);
            expect(pushed).toEqual(computed);
            compared += pushed.filter(Boolean).length;
          },
        ),
        { numRuns: 6 },
      );
    } finally {
      await stream.close();
    }
    // Every run compared pushed values: not two empty stores.
    expect(compared).toBeGreaterThanOrEqual(6);
  }, 300_000);

  it('wait while the consumer lags, then are made once for every batch: the same values', async () => {
    // The same mesh, its consumer reading two events a batch: five events leave it lagging for two batches.
    const lagged = testMeshPlatform({
      MESH_STREAM_URL: nats!.url,
      MESH_NOW: END,
      MESH_DATA_DIR: platform.config.dataDir,
      MESH_STREAM_BATCH_MAX: '2',
    });
    const stream = (await streamPublisher(lagged, 'sales', 'order_events'))!;
    const work = microBatchWork(lagged);
    const view = currentView(await loadRegistry(lagged.store), VIEW)!;
    const keys = CUSTOMERS.map((c) => entityKey([c]));
    const online = () => createOnlineStore(lagged.config.online);
    const read = async () => {
      const store = online();
      try {
        return (await store.read([{ table: tableId(view), keys }]))[0]!.map((r) => r && r.eventTs);
      } finally {
        await store.close();
      }
    };
    try {
      // Newer than anything before, one customer after another.
      await stream.publish(
        CUSTOMERS.concat(CUSTOMERS[0]!).map((customer) => event({ customer, minutesBefore: -1, cents: 1 })),
      );
      const before = await read();
      await work('sales', async () => {});
      expect(await read(), 'the first batch pushed nothing while more waited').toEqual(before);
      await work('sales', async () => {});
      await work('sales', async () => {});
      const after = await read();
      expect(after.every((t, i) => t !== undefined && t !== null && t > (before[i] ?? 0))).toBe(true);
      const { pushed, computed } = await pushedAndComputed(
        lagged,
        CUSTOMERS,
        new Date(Date.parse(END) + 120_000).toISOString(),
      );
      expect(pushed).toEqual(computed);
    } finally {
      await stream.close();
    }
  }, 120_000);
});
