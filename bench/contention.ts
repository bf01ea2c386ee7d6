/**
 * Fairness under load: a cheap caller's CustomerOverview and one-customer Feast read, one at a time, while 16 other
 * callers run analytical queries and 16 more read 50,000 feature values each (2,777 customers x 18 features, the most
 * one Feast request may ask), all at once and again and again. Measured on the mesh as `npm start` runs it (every
 * subgraph and the feature server a process of its own), twice in the same run:
 *   admission   the defaults: each caller's cost budget, heavy work in a bounded pool (cores - 1 at once)
 *   unguarded   budgets off and a pool too large to matter (MESH_COST_BUDGET=0, MESH_HEAVY_CONCURRENCY=1000)
 * Each mode reports the cheap caller's p50 and p99 idle and under load, the ratio of its loaded p50 to its idle p50,
 * and what the heavy callers got (answers, 429s). The clients run in processes of their own (bench/contentionLoad.ts).
 *
 *   npx tsx bench/contention.ts [--duration 15] [--scale 1] [--modes admission,unguarded] [--json]
 */
import './production.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { Duck, readParquet } from '../platform/duckdb.js';
import { signUserToken } from '../platform/auth.js';
import { inLoadProcess } from './loadProcess.js';
import { table } from '../cli/format.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { curatedDatasetPaths } from '../products/readers.js';
import { applyFeatures, computeFeatures } from '../feature-subgraph/featureStore.js';
import { materialize } from '../feature-subgraph/materialize.js';
import { createOnlineStore } from '../feature-subgraph/online/index.js';
import { EXAMPLE_QUERY } from '../gateway/inProcessMesh.js';
import { startSupervisedMesh } from '../cli/supervisedMesh.js';
import { createMeshPlatform } from '../cli/platform.js';

const MODES = ['admission', 'unguarded'] as const;
type Mode = (typeof MODES)[number];
const HEAVY_CALLERS = 16;
/** 2,777 x 18 = 49,986 values: the largest read the value cap (50,000) lets through. */
const LARGE_READ_ROWS = 2_777;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    scale: { type: 'string', default: '1' },
    modes: { type: 'string', default: MODES.join(',') },
    json: { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration);
const modes = values.modes.split(',') as Mode[];
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-contention-'));
const baseEnv = { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' } as Record<string, string>;
const setup = createMeshPlatform(loadConfig(baseEnv));
say(`setting up: scale ${values.scale}, pipelines, features…`);
await generateMarketplace(setup.store, { ...DEFAULT_GENERATE, scale: Number(values.scale) });
for (const d of listDomains(setup.config.domainsDir)) await runDomainPipeline(setup, d);
await applyFeatures(setup);
await computeFeatures(setup, {});
const store = createOnlineStore(setup.config.online);
await materialize(setup, store, { incremental: true, end: new Date(setup.now()) });
await store.close();

const duck = await Duck.open();
const customers = (
  await duck.all<{ id: string }>(
    `SELECT customer_id AS id FROM ${readParquet(await curatedDatasetPaths(setup, 'sales', 'orders'))} o
      JOIN ${readParquet(await curatedDatasetPaths(setup, 'sales', 'customers'))} c USING (customer_id) GROUP BY 1
        ORDER BY count(*) DESC, 1`,
  )
).map((r) => r.id);
const { first, last } = await duck.one<{ first: string; last: string }>(
  `SELECT CAST(min(placed_at) AS DATE)::VARCHAR AS first, CAST(max(placed_at) AS DATE)::VARCHAR AS last
    FROM ${readParquet(await curatedDatasetPaths(setup, 'sales', 'orders'))}`,
);
duck.close();

const DAY = 86_400_000;
/** The analytical fields of every domain over a window of the history: each request a different window. */
function analytical(i: number): string {
  const span = Math.max(1, (Date.parse(last) - Date.parse(first)) / DAY - 30);
  const from = new Date(Date.parse(first) + (i % span) * DAY).toISOString().slice(0, 10);
  const to = last;
  const queries = [
    `{ dailyRevenue(from: "${from}", to: "${to}") { date orders items revenueEur } }`,
    `{ deliveryPerformance(from: "${from}", to: "${to}") { carrier shipments lateRate avgDelayHours } }`,
    `{ campaignPerformance(from: "${from}", to: "${to}") { campaign { id } touches conversions roas } }`,
    `{ settlementSummary(from: "${from}", to: "${to}") { processor currency payments captured failureRate } }`,
  ];
  return JSON.stringify({ query: queries[i % queries.length] });
}

const token = (sub: string, role: string) => signUserToken({ sub, role }, setup.config.auth);

const run = (kind: 'probe' | 'heavy', plan: object) =>
  inLoadProcess<Record<string, unknown>>('contentionLoad.ts', dataDir, { kind, ...plan });

interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}
interface ModeResult {
  mode: Mode;
  idle: { overview: Latency; feature: Latency };
  loaded: { overview: Latency; feature: Latency; failed: Record<string, number> };
  heavy: Record<string, Record<string, number>>;
}
const results: ModeResult[] = [];

for (const mode of modes) {
  const env = {
    ...baseEnv,
    ...(mode === 'unguarded' ? { MESH_COST_BUDGET: '0', MESH_HEAVY_CONCURRENCY: '1000' } : {}),
  };
  const platform = createMeshPlatform(loadConfig(env));
  say(`${mode}: starting the mesh…`);
  const mesh = await startSupervisedMesh(platform, { gatewayPort: 0, randomPorts: true, env });
  try {
    const graphql = `${mesh.gateway.url}/graphql`;
    const feast = `${mesh.features!.url}/get-online-features`;
    const [cheap, cheapMl] = await Promise.all([token('cheap', 'analyst'), token('cheap-ml', 'ml-engineer')]);
    // Every probe a different customer (and comment), so no answer comes from the response cache.
    const probes = (tag: string) => ({
      overview: customers.map((id) => ({
        url: graphql,
        token: cheap,
        body: JSON.stringify({ query: `# ${tag}\n${EXAMPLE_QUERY}`, variables: { id } }),
      })),
      feature: customers.map((id) => ({
        url: feast,
        token: cheapMl,
        body: JSON.stringify({ feature_service: 'customer_repurchase', entities: { customer_id: [id] } }),
      })),
    });
    await run('probe', { duration: 5, ...probes('warm-up') });
    const idle = (await run('probe', { duration, ...probes('idle') })) as unknown as ModeResult['idle'];
    const callers = await Promise.all(
      Array.from({ length: HEAVY_CALLERS }, async (_, c) => [
        {
          kind: 'analytical',
          calls: await Promise.all(
            Array.from({ length: 64 }, async (_, i) => ({
              url: graphql,
              token: await token(`analyst-${c}`, 'analyst'),
              body: analytical(c * 64 + i),
            })),
          ),
        },
        {
          kind: 'large feast read',
          calls: [
            {
              url: feast,
              token: await token(`reader-${c}`, 'ml-engineer'),
              body: JSON.stringify({
                feature_service: 'customer_repurchase',
                entities: {
                  customer_id: Array.from(
                    { length: LARGE_READ_ROWS },
                    (_, i) => customers[(c * 97 + i) % customers.length],
                  ),
                },
              }),
            },
          ],
        },
      ]),
    );
    say(`${mode}: ${HEAVY_CALLERS} analytical and ${HEAVY_CALLERS} large-read callers for ${duration + 2} s…`);
    const heavy = run('heavy', { duration: duration + 2, callers: callers.flat() });
    // The heavy callers have a second to get going before the probe starts, and outlast it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const loaded = (await run('probe', { duration, ...probes('loaded') })) as unknown as ModeResult['loaded'];
    results.push({ mode, idle, loaded, heavy: (await heavy) as ModeResult['heavy'] });
  } finally {
    await mesh.close();
  }
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
const report = results.map((r) => ({
  ...r,
  overviewP50Ratio: ratio(r.loaded.overview.p50, r.idle.overview.p50),
  featureP50Ratio: ratio(r.loaded.feature.p50, r.idle.feature.p50),
}));
if (values.json)
  process.stdout.write(
    `${JSON.stringify({ modes: report, duration, scale: Number(values.scale), cores: os.cpus().length })}\n`,
  );
else {
  console.log(
    `\n${customers.length} customers, scale ${values.scale}, ${duration} s each, ${os.cpus().length} cores; ` +
      `${HEAVY_CALLERS} analytical and ${HEAVY_CALLERS} large-read callers\n`,
  );
  console.log(
    table(
      ['mode', 'cheap request', 'idle p50', 'idle p99', 'loaded p50', 'loaded p99', 'loaded max', 'p50 vs idle'],
      report.flatMap((r) =>
        (['overview', 'feature'] as const).map((k) => [
          r.mode,
          k === 'overview' ? 'CustomerOverview' : 'Feast, 1 customer',
          r.idle[k].p50,
          r.idle[k].p99,
          r.loaded[k].p50,
          r.loaded[k].p99,
          r.loaded[k].max,
          `${k === 'overview' ? r.overviewP50Ratio : r.featureP50Ratio}x`,
        ]),
      ),
    ),
  );
  console.log(
    `\n${table(
      ['mode', 'heavy caller', 'answered', 'refused 429', 'other'],
      report.flatMap((r) =>
        Object.entries(r.heavy).map(([kind, counts]) => [
          r.mode,
          kind,
          counts['200'] ?? 0,
          counts['429'] ?? 0,
          Object.entries(counts)
            .filter(([s]) => s !== '200' && s !== '429')
            .map(([s, n]) => `${s}: ${n}`)
            .join(', '),
        ]),
      ),
    )}`,
  );
  for (const r of report)
    if (Object.keys(r.loaded.failed).length)
      console.log(`${r.mode}: the cheap caller was refused or failed: ${JSON.stringify(r.loaded.failed)}`);
}
process.exit(0);
