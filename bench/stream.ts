/**
 * Sales order events through the stream, over a mesh that already holds its history (180 days by default):
 *   freshness  at each rate, events published for `--seconds`; one order a second is a marker, looked up through the
 *              governed gateway until it answers: publish → queryable, p50 and p99 over the markers. The consumer is a
 *              process of its own (bench/streamConsumer.ts: the scheduler's micro-batches, every `--interval` s), and
 *              the subgraphs and gateway run as `npm start` runs them.
 *   ingest     a backlog of `--backlog` events landed by micro-batches until caught up (events/s), against the broker's
 *              own consume rate of the same stream in the same run (an ordered consumer reading it whole).
 *
 *   npx tsx bench/stream.ts [--scale 1] [--days 180] [--rates 1000,10000] [--seconds 300] [--interval 1]
 *                           [--backlog 200000] [--json]
 */
import './production.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadConfig, REPO_ROOT } from '../platform/config.js';
import { listDomains, selectDomains } from '../platform/domains.js';
import { signUserToken } from '../platform/auth.js';
import { getJson } from '../platform/store/index.js';
import { createEventStream, type EventStream } from '../platform/stream/index.js';
import { privateNats } from '../platform/test/nats.js';
import { table } from '../cli/format.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { streamPublisher } from '../jobs/pipeline/streamBatch.js';
import { currentManifest, recentRuns } from '../products/readers.js';
import { startSupervisedMesh } from '../cli/supervisedMesh.js';
import { createMeshPlatform } from '../cli/platform.js';
import { UNTHROTTLED } from './unthrottled.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    days: { type: 'string', default: '180' },
    rates: { type: 'string', default: '1000,10000' },
    seconds: { type: 'string', default: '300' },
    interval: { type: 'string', default: '1' },
    backlog: { type: 'string', default: '200000' },
    json: { type: 'boolean', default: false },
  },
});
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const STREAM = 'SALES_ORDER_EVENTS';
const SUBJECT = 'sales.order_events';
const seconds = Number(values.seconds);
const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
const rows: (string | number)[][] = [];

const nats = await privateNats();
if (!nats) throw new Error('bench/stream.ts needs nats-server (apt-get install -y nats-server)');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-stream-'));
const env = {
  ...process.env,
  MESH_DATA_DIR: dataDir,
  MESH_LOG_LEVEL: 'warn',
  MESH_STREAM_URL: nats.url,
  MESH_STREAM_INTERVAL_SECONDS: values.interval,
  ...UNTHROTTLED,
} as Record<string, string>;
const platform = createMeshPlatform(loadConfig(env));
const sales = selectDomains(platform.config.domainsDir, ['sales'])[0]!;
say(`setting up: scale ${values.scale}, ${values.days} days of history ending now, pipelines, subgraph processes…`);
// History as files, ending now: the stream's events are then the newest.
await generateMarketplace(platform.store, {
  ...DEFAULT_GENERATE,
  scale: Number(values.scale),
  days: Number(values.days),
  end: new Date().toISOString(),
});
for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
const mesh = await startSupervisedMesh(platform, { gatewayPort: 0, randomPorts: true, env });
const token = await signUserToken({ sub: 'bench', role: 'analyst' }, platform.config.auth, '2h');
const stream = createEventStream(platform.config, platform.log)!;
await stream.ensure(STREAM, [SUBJECT]);
// The producer as the mesh's: each event encoded with the Avro schema registered for the stream.
const producer = (await streamPublisher(platform, 'sales', 'order_events'))!;

let serial = 0;
/** An order placed now, as the shop's order service would publish it. */
function orderCreated(): { id: string; data: string; orderId: string } {
  const n = ++serial;
  const orderId = `o-s${String(n).padStart(9, '0')}`;
  const id = `oe-s${String(n).padStart(10, '0')}`;
  const data = JSON.stringify({
    event_id: id,
    event_type: 'order_created',
    order_id: orderId,
    customer_id: `c-${String((n % 2000) + 1).padStart(7, '0')}`,
    occurred_at: new Date().toISOString(),
    channel: 'web',
    currency: 'EUR',
    total: 42.5,
    items: [{ product_id: `p-${String((n % 500) + 1).padStart(6, '0')}`, quantity: 1, unit_price: 42.5 }],
  });
  return { id, data, orderId };
}

/** Which of these orders the gateway answers, in one request. */
async function visible(orderIds: string[]): Promise<Set<string>> {
  const query = `{ ${orderIds.map((o, i) => `m${i}: order(id: "${o}") { id }`).join(' ')} }`;
  const res = await fetch(`${mesh.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: Record<string, { id: string } | null>; errors?: { message: string }[] };
  if (body.errors?.length) pollErrors.set(body.errors[0]!.message, (pollErrors.get(body.errors[0]!.message) ?? 0) + 1);
  return new Set(Object.values(body.data ?? {}).flatMap((o) => (o ? [o.id] : [])));
}

/** The gateway's armor allows 20 aliases a request (gateway/plugins/index.ts): more pending markers take more polls. */
const ALIASES_PER_POLL = 20;
/** Why polls of the gateway came back without every marker: message → polls. */
const pollErrors = new Map<string, number>();

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Publishes `rate` events a second for `seconds`, one marker a second; returns each marker's publish → visible. */
async function freshnessAt(rate: number): Promise<{ latencies: number[]; published: number; lost: number }> {
  const consumer = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO_ROOT, 'bench/streamConsumer.ts')],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // Its warnings (a failed micro-batch) go where the bench's progress goes.
  await new Promise<void>((resolve, reject) => {
    consumer.stdout!.on('data', (b: Buffer) => {
      const text = b.toString();
      if (text.includes('ready\n')) resolve();
      else process.stderr.write(text);
    });
    consumer.once('exit', (code) => reject(new Error(`the stream consumer exited (${code})`)));
  });
  const markers = new Map<string, number>();
  const latencies: number[] = [];
  let published = 0;
  let publishing = true;
  const start = performance.now();
  let lastPublish = start;
  const poll = (async () => {
    while (publishing || markers.size > 0) {
      const pending = [...markers.keys()];
      for (let i = 0; i < pending.length; i += ALIASES_PER_POLL) {
        const seen = await visible(pending.slice(i, i + ALIASES_PER_POLL)).catch((err: unknown) => {
          pollErrors.set(String(err), (pollErrors.get(String(err)) ?? 0) + 1);
          return new Set<string>();
        });
        const now = performance.now();
        for (const o of seen) {
          latencies.push((now - markers.get(o)!) / 1000);
          markers.delete(o);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
      if (!publishing && latencies.length > 0 && performance.now() - lastPublish > 180_000) break;
    }
  })();
  // Ticks of 100 ms, each publishing its share; a tick that overruns is caught up by the next.
  for (let tick = 0; tick < seconds * 10; tick++) {
    const due = Math.round(((tick + 1) * rate) / 10) - published;
    const batch = Array.from({ length: due }, orderCreated);
    const sentAt = performance.now();
    await producer.publish(batch.map(({ id, data }) => ({ id, data })));
    if (tick % 10 === 0 && batch[0]) markers.set(batch[0].orderId, sentAt);
    published += due;
    lastPublish = performance.now();
    const next = start + (tick + 1) * 100;
    if (next > performance.now()) await new Promise((r) => setTimeout(r, next - performance.now()));
  }
  const took = (performance.now() - start) / 1000;
  if (took > seconds * 1.1) say(`  publishing ${rate}/s fell behind: ${published} events took ${took.toFixed(1)} s`);
  publishing = false;
  await poll;
  consumer.kill('SIGTERM');
  await new Promise((r) => consumer.once('exit', r));
  return { latencies: latencies.sort((a, b) => a - b), published, lost: markers.size };
}

for (const rate of values.rates.split(',').map(Number)) {
  say(`${rate} events/s for ${seconds} s…`);
  const phaseStart = Date.now();
  const { latencies, published, lost } = await freshnessAt(rate);
  if (latencies.length === 0) throw new Error(`no marker became queryable at ${rate} events/s`);
  const p50 = quantile(latencies, 0.5);
  const p99 = quantile(latencies, 0.99);
  // The consumer's micro-batches of the phase, from their run records: how many, how long, how large.
  const runs = (await recentRuns(platform, 'sales', 100_000)).filter(
    (r) => r.streamBatches?.length && Date.parse(r.startedAt) >= phaseStart,
  );
  const ms = runs.map((r) => r.durationMs).sort((a, b) => a - b);
  const failed = runs.filter((r) => r.status !== 'succeeded').length;
  const largest = Math.max(0, ...runs.map((r) => r.streamBatches![0]!.messages));
  say(
    `  ${runs.length} micro-batches (${failed} failed): median ${ms[ms.length >> 1] ?? 0} ms, ` +
      `max ${ms.at(-1) ?? 0} ms, largest ${largest} events`,
  );
  rows.push([rate, published, latencies.length, lost, p50.toFixed(1), p99.toFixed(1), runs.length, ms.at(-1) ?? 0]);
  figures.push(
    { name: `stream.${rate}.freshness.p50_s`, value: Number(p50.toFixed(2)), unit: 's' },
    { name: `stream.${rate}.freshness.p99_s`, value: Number(p99.toFixed(2)), unit: 's' },
  );
  if (lost > 0) say(`  ${lost} markers never became queryable within 3 minutes of the last publish`);
  const head = await stream.head(STREAM);
  say(`  the consumer committed ${await position()} of the stream's ${head} events by the phase's end`);
  for (const [message, polls] of pollErrors) say(`  ${polls} polls of the gateway answered with an error: ${message}`);
  pollErrors.clear();
}

/** Where the sales version's committed stream position is. */
async function position(): Promise<number> {
  const m = await currentManifest(platform, 'sales');
  const state =
    m?.state && (await getJson<{ sources: Record<string, { position?: number }> }>(platform.store, m.state.key));
  return state?.sources.order_events?.position ?? 0;
}

/** The broker's consume rate: the stream read whole by an ordered consumer, as micro-batches read it. */
async function brokerRate(reader: EventStream, head: number): Promise<number> {
  const t = performance.now();
  let read = 0;
  for (let after = 0; after < head; ) {
    const messages = await reader.read(STREAM, after, platform.config.streamBatchMax, 2000);
    if (messages.length === 0) break;
    read += messages.length;
    after = messages.at(-1)!.sequence;
  }
  return read / ((performance.now() - t) / 1000);
}

say(`ingest: a backlog of ${values.backlog} events…`);
const backlog = Number(values.backlog);
for (let sent = 0; sent < backlog; ) {
  const batch = Array.from({ length: Math.min(10_000, backlog - sent) }, orderCreated);
  await producer.publish(batch.map(({ id, data }) => ({ id, data })));
  sent += batch.length;
}
const head = await stream.head(STREAM);
const from = await position();
const t = performance.now();
while ((await position()) < head) await runDomainPipeline(platform, sales);
const ingestRate = (head - from) / ((performance.now() - t) / 1000);
const broker = await brokerRate(stream, head);
figures.push({
  name: 'stream.ingest.events_per_s',
  value: Math.round(ingestRate),
  unit: 'events/s',
  baseline: Math.round(broker),
  ratio: Number((ingestRate / broker).toFixed(3)),
});

await producer.close();
await stream.close();
await mesh.close();
await nats.close();
fs.rmSync(dataDir, { recursive: true, force: true });
if (values.json) process.stdout.write(`${JSON.stringify({ figures })}\n`);
say(
  `\n${table(
    [
      'events/s',
      'published',
      'markers seen',
      'markers lost',
      'freshness p50 s',
      'freshness p99 s',
      'batches',
      'max ms',
    ],
    rows,
  )}`,
);
say(
  `\ningest: ${Math.round(ingestRate).toLocaleString('en-US')} events/s landed and published by micro-batches ` +
    `(${head - from} events), broker consume rate ${Math.round(broker).toLocaleString('en-US')} events/s: ` +
    `${(ingestRate / broker).toFixed(2)}x (${os.cpus().length} cores, scale ${values.scale}, ${values.days} days)`,
);
