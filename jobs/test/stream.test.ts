import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import { selectDomains } from '../../platform/domains.js';
import { createEventStream, Duck, framed, getJson, sqlString, type Platform } from '../../platform/index.js';
import { EventSchemaRegistry, loadContract, parseEventSchema } from '../../governance/index.js';
import { loadPipeline, streamSources } from '../pipeline/spec.js';
import { childEnv, testPlatform } from '../../platform/test/helpers.js';
import { natsInstalled, privateNats, type TestNats } from '../../platform/test/nats.js';
import { generateMarketplace } from '../generate/index.js';
import { landStreamBatches, streamFeeds, streamPublisher } from '../pipeline/streamBatch.js';
import { batchFolder, batchKey, batchRange, compactLandedBatches, isStreamBatch } from '../pipeline/landedBatches.js';
import { PipelineScheduler } from '../schedule/scheduler.js';
import type { MicroBatchWork } from '../schedule/microBatches.js';
import { runDomainPipeline, unchangedVersion } from '../pipeline/run.js';
import { sourceFiles } from '../pipeline/load.js';
import { currentManifest, streamFreshness } from '../../products/readers.js';
import type { IngestState } from '../../products/index.js';
import { queryCurated } from '../../products/test/helpers.js';

/**
 * Sales order events from a real NATS JetStream, landed in micro-batches: killed anywhere, restarted brokers and
 * duplicates included, the curated data equals what the same events give when read as files in one run.
 */
const DATA = { scale: 0.2, seed: 11, days: 30, end: '2026-11-01T00:00:00.000Z' };
const ORDERS_PREFIX = 'sales/raw/topics/sales.orders/';
const SUBJECT = 'sales.order_events';
const STREAM = 'SALES_ORDER_EVENTS';
const BIN = path.join(REPO_ROOT, 'cli', 'bin.js');

// Without nats-server the suite skips, loudly; under CI privateNats throws instead.
const available = natsInstalled() || Boolean(process.env.CI);
let nats: TestNats | undefined;
let reference: Platform;
let lines: string[];
const sales = (p: Platform) => selectDomains(p.config.domainsDir, ['sales'])[0]!;
const eventId = (line: string) => {
  try {
    return String((JSON.parse(line) as { event_id: unknown }).event_id);
  } catch {
    return createHash('sha256').update(line).digest('hex');
  }
};
const events = (list: string[]) => list.map((l) => ({ id: eventId(l), data: l }));
const ordersOf = (p: Platform) =>
  queryCurated(p, `SELECT * FROM o ORDER BY order_id`, { o: ['sales', 'orders'] }).then((r) => JSON.stringify(r));

/** `mesh run sales` in its own process, reading the stream; with a fault point it kills itself there. */
function meshRun(dataDir: string, env: Record<string, string>): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', 'sales', '--no-features'], {
      env: childEnv({ MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'silent', ...env }),
      stdio: 'ignore',
    });
    child.on('exit', (code, signal) => resolve(signal ?? code));
  });
}

/** A mesh whose sales order events come only from the stream (the other sources stay files). */
async function streamMesh(url: string, batch: number, env: Record<string, string> = {}): Promise<Platform> {
  const p = testPlatform({ MESH_STREAM_URL: url, MESH_STREAM_BATCH_MAX: String(batch), ...env });
  await generateMarketplace(p.store, DATA);
  for (const f of await p.store.list(ORDERS_PREFIX)) await p.store.delete(f.key);
  return p;
}

/**
 * The stream as the mesh's producer writes to it: events encoded with the Avro schema registered in `p`'s registry
 * (streamPublisher), and the raw stream for its head.
 */
async function producerFor(p: Platform) {
  const stream = createEventStream(p.config, p.log)!;
  await stream.ensure(STREAM, [SUBJECT]);
  const publisher = (await streamPublisher(p, 'sales', 'order_events'))!;
  return {
    ensure: async (_stream: string, _subjects: string[]) => {},
    publish: (_subject: string, list: { id: string; data: string }[]) => publisher.publish(list),
    head: (name: string) => stream.head(name),
    close: async () => {
      await publisher.close();
      await stream.close();
    },
  };
}

beforeAll(async () => {
  if (!available) await privateNats();
  if (!available) return;
  reference = testPlatform();
  await generateMarketplace(reference.store, DATA);
  lines = [];
  for (const f of await reference.store.list(ORDERS_PREFIX))
    lines.push(...(await reference.store.get(f.key)).toString('utf8').split('\n').filter(Boolean));
  await runDomainPipeline(reference, sales(reference));
}, 120_000);
// Each test has a broker of its own, so its mesh reads the stream from the first sequence.
beforeEach(async () => {
  if (available) nats = await privateNats();
});
afterEach(async () => {
  await nats?.close();
});

describe.skipIf(!available)('sales order events from NATS JetStream', () => {
  it('killed at every point of a micro-batch run, then run until caught up: orders equal a full rebuild', async () => {
    const unique = new Set(lines.map(eventId)).size;
    const batch = Math.ceil(unique / 6);
    const victim = await streamMesh(nats!.url, batch);
    const stream = await producerFor(victim);
    await stream.publish(SUBJECT, events(lines));
    const head = await stream.head(STREAM);
    // The generator's at-least-once copies (same line, same id) are stored once by the broker.
    expect(head).toBe(unique);
    await stream.close();

    const env = { MESH_STREAM_URL: nats!.url, MESH_STREAM_BATCH_MAX: String(batch) };
    for (const point of ['after-stream-batch', 'after-staging', 'before-manifest', 'after-manifest'])
      expect(await meshRun(victim.config.dataDir, { ...env, MESH_FAULT_POINT: point }), point).toBe('SIGKILL');
    const positions: number[] = [];
    for (let run = 0; run < 8; run++) {
      expect(await meshRun(victim.config.dataDir, env)).toBe(0);
      const m = await currentManifest(victim, 'sales');
      const state = await getJson<{ sources: Record<string, { position?: number }> }>(victim.store, m!.state!.key);
      positions.push(state!.sources.order_events!.position!);
      if (positions.at(-1) === head) break;
    }
    // Batch by batch, in order, to the stream's head.
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(positions.at(-1)).toBe(head);
    expect(await ordersOf(victim)).toEqual(await ordersOf(reference));
  }, 300_000);

  it('commits a position, not a ledger of batches; merges settled batches; a killed merge reads once', async () => {
    const unique = new Set(lines.map(eventId)).size;
    const batch = Math.ceil(unique / 33);
    const p = await streamMesh(nats!.url, batch);
    const producer = await producerFor(p);
    await producer.publish(SUBJECT, events(lines));
    const head = await producer.head(STREAM);
    await producer.close();
    const domain = sales(p);
    const pipeline = loadPipeline(domain, loadContract(domain.contractFile, 'sales'));
    const source = streamSources(pipeline)[0]!;
    // Batches landed by runs killed before their manifests: the next run reads them all.
    const stream = createEventStream(p.config, p.log)!;
    while ((await landStreamBatches(p, pipeline, stream, undefined, 50)).length > 0);
    await stream.close();
    const folder = batchFolder('sales', source);
    const landed = await p.store.list(folder);
    expect(landed.length).toBeGreaterThanOrEqual(32);
    await runDomainPipeline(p, domain);
    const stateOf = async () =>
      (await getJson<IngestState>(p.store, (await currentManifest(p, 'sales'))!.state!.key))!.sources.order_events!;
    expect((await stateOf()).position).toBe(head);
    expect(Object.keys((await stateOf()).files).filter(isStreamBatch)).toEqual([]);

    // A merge of the second sixteen killed before it deleted them: its object and its parts are all in the folder.
    const parts = landed.slice(16, 32);
    const body = Buffer.concat(await Promise.all(parts.map((f) => p.store.get(f.key))));
    const range = (key: string) => batchRange(key)!;
    await p.store.put(batchKey(folder, SUBJECT, range(parts[0]!.key).first, range(parts[15]!.key).last), body);
    expect(await unchangedVersion(p, domain)).toBeDefined();
    const readsOnce = async () => {
      const full = await runDomainPipeline(p, domain, { full: true });
      expect(full.accounting.find((a) => a.source === 'order_events')!.in).toBe(head);
      expect(await ordersOf(p)).toEqual(await ordersOf(reference));
    };
    const batches = async () => (await sourceFiles(p.store, 'sales', source)).filter((f) => isStreamBatch(f.key));
    expect((await batches()).length).toBe(landed.length - 15);
    // A run deletes the parts of the killed merge (they are committed) before it reads.
    await readsOnce();
    expect((await p.store.list(folder)).length).toBe(landed.length - 15);
    // Settled (ten minutes on): the first sixteen merge.
    expect(await compactLandedBatches(p, 'sales', source, head, Date.now() + 10 * 60_000)).toBe(1);
    const merged = await batches();
    expect(merged.length).toBe(landed.length - 30);
    // Every sequence in exactly one object.
    const held = merged.map((f) => range(f.key)).sort((a, b) => a.first - b.first);
    expect(held.map((r) => [r.first, r.last])).toEqual(
      held.map((r, i) => [i === 0 ? 1 : held[i - 1]!.last + 1, i === held.length - 1 ? head : r.last]),
    );
    expect(await unchangedVersion(p, domain)).toBeDefined();
    expect((await runDomainPipeline(p, domain)).unchanged).toBe(true);
    await readsOnce();
  }, 300_000);

  it('two schedulers land micro-batches as events arrive, one at a time, to the head, with freshness', async () => {
    const batch = 400;
    const p = await streamMesh(nats!.url, batch, { MESH_STREAM_INTERVAL_SECONDS: '0.2' });
    const feeds = streamFeeds(p, [sales(p)]);
    expect(feeds).toEqual([{ domain: 'sales', stream: STREAM, subject: SUBJECT }]);
    let running = 0;
    let peak = 0;
    const landed: number[] = [];
    const work: MicroBatchWork = async (_domain, fence) => {
      peak = Math.max(peak, ++running);
      try {
        const run = await runDomainPipeline(p, sales(p), { fence });
        landed.push(...(run.streamBatches ?? []).map((b) => b.messages));
        return { landedThrough: Math.max(0, ...(run.streamBatches ?? []).map((b) => b.last)) };
      } finally {
        running--;
      }
    };
    // No cron tick in the test's time: only micro-batches run.
    const schedulers = [0, 1].map(
      () =>
        new PipelineScheduler(
          p,
          [{ domain: 'sales', cron: '0 0 1 1 *', owner: 'test', retries: 0 }],
          async () => ({ steps: {} }),
          { microBatches: { feeds, work }, leaseMs: 5000 },
        ),
    );
    for (const s of schedulers) s.start();
    const stream = await producerFor(p);
    // Published in two halves, a while apart: the second is landed by a later batch.
    const half = Math.floor(lines.length / 2);
    await stream.publish(SUBJECT, events(lines.slice(0, half)));
    await new Promise((r) => setTimeout(r, 1500));
    await stream.publish(SUBJECT, events(lines.slice(half)));
    const head = await stream.head(STREAM);
    await stream.close();
    const position = async () => {
      const m = await currentManifest(p, 'sales');
      const state =
        m?.state && (await getJson<{ sources: Record<string, { position?: number }> }>(p.store, m.state.key));
      return state?.sources.order_events?.position ?? 0;
    };
    await expect.poll(position, { timeout: 120_000, interval: 200 }).toBe(head);
    await Promise.all(schedulers.map((s) => s.stop()));
    expect(peak).toBe(1);
    expect(landed.reduce((a, b) => a + b, 0)).toBe(head);
    expect(Math.max(...landed)).toBeLessThanOrEqual(batch);
    expect(await ordersOf(p)).toEqual(await ordersOf(reference));
    const freshness = (await streamFreshness(p, ['sales'])).get('sales');
    expect(freshness).toMatchObject({ batches: landed.length, events: head });
  }, 300_000);

  it('a broker restarted mid-stream loses nothing; a run while it is down fails and publishes nothing', async () => {
    const url = nats!.url;
    const p = await streamMesh(url, 100_000);
    const stream = await producerFor(p);
    const half = Math.floor(lines.length / 2);
    await stream.publish(SUBJECT, events(lines.slice(0, half)));
    const first = await runDomainPipeline(p, sales(p));
    await stream.close();
    await nats!.stop();
    const down = await runDomainPipeline(p, sales(p)).catch((err: unknown) => err as Error);
    expect((down as { code?: string }).code).toBe('STREAM_UNAVAILABLE');
    expect((await currentManifest(p, 'sales'))!.runId).toBe(first.runId);
    await nats!.start();
    const again = await producerFor(p);
    await again.publish(SUBJECT, events(lines.slice(half)));
    await again.close();
    const after = await runDomainPipeline(p, sales(p));
    expect(after.streamBatches![0]!.lag).toBe(0);
    expect(await ordersOf(p)).toEqual(await ordersOf(reference));
  }, 300_000);

  it('one message id twice is one record; an order weeks late lands in its month; lag rises and falls', async () => {
    const p = await streamMesh(nats!.url, 100_000);
    const stream = await producerFor(p);
    await stream.publish(SUBJECT, events(lines));
    await runDomainPipeline(p, sales(p));
    const created = JSON.parse(lines.find((l) => l.includes('"order_created"'))!) as Record<string, unknown>;
    const order = (n: string, at: string) =>
      JSON.stringify({ ...created, event_id: `e-late-${n}`, order_id: `o-late-${n}`, occurred_at: at });
    const line = order('0001', '2026-10-05T08:00:00.000Z');
    const before = await stream.head(STREAM);
    await stream.publish(SUBJECT, [{ id: 'e-late-0001', data: line }]);
    await stream.publish(SUBJECT, [{ id: 'e-late-0001', data: line }]);
    expect(await stream.head(STREAM)).toBe(before + 1);
    // Ten more orders while no consumer runs: the next runs, one message at a time, report them as lag.
    await stream.publish(
      SUBJECT,
      events(Array.from({ length: 10 }, (_, i) => order(`1${String(i).padStart(3, '0')}`, '2026-10-30T08:00:00.000Z'))),
    );
    await stream.close();
    const small = testPlatform({
      MESH_DATA_DIR: p.config.dataDir,
      MESH_STREAM_URL: nats!.url,
      MESH_STREAM_BATCH_MAX: '1',
    });
    const lags: number[] = [];
    for (let i = 0; i < 3; i++) lags.push((await runDomainPipeline(small, sales(small))).streamBatches![0]!.lag);
    expect(lags).toEqual([10, 9, 8]);
    const [row] = await queryCurated<{ placed_at: string; n: number }>(
      p,
      `SELECT strftime(placed_at, '%Y-%m') AS placed_at, CAST(count(*) OVER () AS INTEGER) AS n FROM o
        WHERE order_id = 'o-late-0001'`,
      { o: ['sales', 'orders'] },
    );
    expect(row).toEqual({ placed_at: '2026-10', n: 1 });
    const files = Object.values((await currentManifest(p, 'sales'))!.datasets.orders!.files).map((f) => f.key);
    expect(files.some((k) => k.includes('2026-10'))).toBe(true);
  }, 300_000);

  it('Avro: each message is read with the schema its id names; one that does not decode is quarantined', async () => {
    const p = await streamMesh(nats!.url, 100_000);
    const producer = await producerFor(p);
    await producer.publish(SUBJECT, events(lines));
    // A producer already on v2 of the schema (a field added with a default, as BACKWARD allows) …
    const spec = loadPipeline(sales(p), loadContract(sales(p).contractFile, 'sales')).sources[0]!.stream!.schema!;
    const v1 = JSON.parse(spec.text) as { fields: unknown[] };
    const v2 = parseEventSchema(
      JSON.stringify({ ...v1, fields: [...v1.fields, { name: 'coupon', type: ['null', 'string'], default: null }] }),
      'v2',
    );
    const { id } = await new EventSchemaRegistry(p).register('sales.order_events-value', v2, 'BACKWARD');
    const created = JSON.parse(lines.find((l) => l.includes('"order_created"'))!) as Record<string, unknown>;
    const newer = { ...created, event_id: 'e-avro-v2', order_id: 'o-avro-v2', coupon: 'WINTER' };
    // … and three messages no consumer can read: text, an unknown schema id, bytes that are not the schema's.
    const stream = createEventStream(p.config, p.log)!;
    await stream.publish(SUBJECT, [
      { id: 'e-avro-v2', data: framed(id, v2.toBuffer(newer)) },
      { id: 'bad-1', data: JSON.stringify({ ...created, event_id: 'e-text' }) },
      { id: 'bad-2', data: framed(424242, v2.toBuffer(newer)) },
      { id: 'bad-3', data: framed(id, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01])) },
    ]);
    await stream.close();
    await producer.close();
    const run = await runDomainPipeline(p, sales(p));
    // The v2 event is read as the pipeline's schema (v1) reads it: its order is curated, the new field left out.
    const [order] = await queryCurated<{ order_id: string }>(p, `SELECT order_id FROM o WHERE order_id = 'o-avro-v2'`, {
      o: ['sales', 'orders'],
    });
    expect(order).toEqual({ order_id: 'o-avro-v2' });
    const file = run.quarantine.find((q) => q.source === 'order_events')!;
    const duck = await Duck.open();
    try {
      const reasons = await duck.all<{ reason: string }>(
        `SELECT reason FROM read_parquet(${sqlString(await p.store.localPath(file.key))})
          WHERE reason LIKE 'undecodable%' ORDER BY reason`,
      );
      expect(reasons.map((r) => r.reason)).toEqual([
        `undecodable event: does not decode with schema id ${id}: invalid union index: -268435456`,
        'undecodable event: not an Avro message of the registry (no schema id)',
        'undecodable event: schema id 424242 is not registered',
      ]);
    } finally {
      duck.close();
    }
    const accounting = run.accounting.find((a) => a.source === 'order_events')!;
    expect(accounting.malformed).toBeGreaterThanOrEqual(3);
    expect(accounting.in).toBe(accounting.curated + accounting.quarantined + accounting.duplicates);
  }, 300_000);

  it('the simulation publishes its order events to the stream, and they curate as its files do', async () => {
    const p = testPlatform({ MESH_STREAM_URL: nats!.url });
    const publisher = (await streamPublisher(p, 'sales', 'order_events'))!;
    const publishedFrom = Date.now();
    const report = await generateMarketplace(p.store, DATA, undefined, publisher);
    await publisher.close();
    expect(await p.store.list(ORDERS_PREFIX)).toEqual([]);
    const orders = report.sources.find((r) => r.source === 'order_events')!;
    expect(orders.lines).toBe(lines.length);
    const run = await runDomainPipeline(p, sales(p));
    expect(await ordersOf(p)).toEqual(await ordersOf(reference));
    // Freshness per batch: from each event's time, or its publication when later, to the commit. These events are
    // weeks old and were published by this test (a backfill): they are measured from their publication, not from
    // their weeks-old times, so the batch is as fresh as the time since they were published.
    const { freshness } = run.streamBatches![0]!;
    const sincePublished = (Date.now() - publishedFrom) / 1000;
    expect(freshness!.p50Seconds).toBeGreaterThan(0);
    expect(freshness!.p99Seconds).toBeGreaterThanOrEqual(freshness!.p50Seconds);
    expect(freshness!.p99Seconds).toBeLessThanOrEqual(sincePublished);
  }, 300_000);
});
