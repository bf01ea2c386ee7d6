/**
 * Feature store figures, each against a baseline measured in the same run:
 * - online: p50/p99 of feature vectors for 1, 10, 100 and 1,000 entities x 50 features across 5 views on Redis, through
 *   the library (resolve + one MGET + decode + statuses) and through Feast REST over HTTP (the feature server in its
 *   own process), against the physical limit: a raw ioredis MGET of the same keys. The embedded SQLite store is
 *   measured the same way.
 * - historical: a 1M-row entity frame x 5 views (ASOF joins, training set written to Parquet) against a window-function
 *   point-in-time join over the same Parquet in the same DuckDB settings.
 * - materialization: online writes per second.
 * - the HTTP floor under Feast REST: the same client fetching the same answer from a server that only sends it back.
 * - the GraphQL floor under the features subgraph: the same query to a subgraph on the same stack that answers the same
 *   shape from memory (bench/featureGraphFloor.ts).
 * - memory: the process's peak RSS during the training set and during each materialization (the high-water mark is
 *   reset before each job; it includes what the process already held).
 *
 *   npx tsx bench/features.ts [--customers 100000] [--days 54] [--entity-rows 1000000]   (REDIS_URL, or redis-server on
 *   PATH)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { loadConfig, REPO_ROOT } from '../platform/config.js';
import { UNTHROTTLED } from './unthrottled.js';
import { IDENTITY_HEADER, signInternalIdentity, signUserToken } from '../platform/auth.js';
import { saveModel } from '../feature-subgraph/models/model.js';
import { Duck, sqlString } from '../platform/duckdb.js';
import { table } from '../cli/format.js';
import {
  emptyRegistry,
  plan,
  resolveFeatures,
  saveRegistry,
  tableId,
  type Registry,
} from '../feature-subgraph/registry.js';
import type { LoadedDefinitions } from '../feature-subgraph/definitions.js';
import { publishOfflineTable } from '../feature-subgraph/offline/compute.js';
import { writeTrainingSet } from '../feature-subgraph/offline/historical.js';
import { materialize } from '../feature-subgraph/materialize.js';
import { RedisOnlineStore, SqliteOnlineStore, type OnlineStore } from '../feature-subgraph/online/index.js';
import { readColumns } from '../feature-subgraph/server/onlineRead.js';
import { createMeshPlatform } from '../cli/platform.js';
import { freePort, redisForTests } from '../platform/test/helpers.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    days: { type: 'string', default: '54' },
    'entity-rows': { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false },
  },
});
const CUSTOMERS = Number(values.customers);
const DAYS = Number(values.days);
const ENTITY_ROWS = Number(values['entity-rows']);
const VIEWS = 5;
const FEATURES = 10;
const END = new Date(Date.UTC(2026, 10, 20));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-fs-'));
const platform = createMeshPlatform(loadConfig({ ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' }));
// With --json, stdout is one line of figures for tooling (`figures`); the tables go to stderr.
const log = (s: string) => void (values.json ? process.stderr : process.stdout).write(`${s}\n`);
const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');

/** Waits for a server started beside the bench to answer (with a 2xx, unless any answer will do). */
async function waitUntilAnswering(url: string, what: string, anyStatus = false): Promise<void> {
  for (
    let i = 0;
    !(await fetch(url)
      .then((r) => anyStatus || r.ok)
      .catch(() => false));
    i++
  ) {
    if (i > 200) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Peak resident memory of this process during one job (Linux: the high-water mark is reset before it, then read).
const peakRss = {
  reset: () => {
    try {
      fs.writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // Not Linux, or not allowed: the peak since the process started is what is read.
    }
  },
  mb: () => {
    const kb = /VmHWM:\s+(\d+) kB/.exec(
      fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '',
    )?.[1];
    return kb ? Math.round(Number(kb) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
  },
};

// --- Synthetic views: 5 x 10 Float64 features, one row per customer and day, 30-day TTL.
const defs: LoadedDefinitions = {
  entities: [
    { name: 'customer', joinKeys: ['customer_id'], domain: 'bench', graphql: { type: 'Customer', keyField: 'id' } },
  ],
  views: Array.from({ length: VIEWS }, (_, v) => ({
    name: `bench_v${v}`,
    domain: 'bench',
    entities: ['customer'],
    joinKeys: ['customer_id'],
    ttl: '30d',
    ttlSeconds: 30 * 86400,
    owner: 'bench',
    description: 'synthetic',
    features: Array.from({ length: FEATURES }, (_, f) => ({ name: `f${v}_${f}`, dtype: 'Float64' as const })),
    sql: `SELECT ${v}`,
    sqlFile: '-',
  })),
  services: [],
};
const registry: Registry = plan(emptyRegistry(), defs).next;
await saveRegistry(platform, registry);
const views = Object.values(registry.views).map((v) => v[0]!);

const duck = await Duck.open({ tempDirectory: path.join(dataDir, '.tmp', 'duckdb') });
await duck.run(`SET TimeZone = 'UTC'`);
let t = Date.now();
const offlineFiles = new Map<string, string>();
for (const v of views) {
  // Published as `mesh features compute` publishes a view: the table, the latest row per entity beside it, the
  // manifest.
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE offline AS SELECT printf('c-%07d', c) AS customer_id, TIMESTAMP
      '${END.toISOString().slice(0, 10)}' - INTERVAL (d) DAY AS event_timestamp,
       ${v.features.map((f, i) => `hash(c, d, ${i}) % 100000 / 100.0 AS ${f.name}`).join(', ')}, TIMESTAMP
         '2026-11-21' AS created_timestamp
     FROM range(${CUSTOMERS}) a(c), range(${DAYS}) b(d) ORDER BY customer_id, event_timestamp`,
  );
  const manifest = await publishOfflineTable(duck, platform, v, 'offline', {
    createdAt: '2026-11-21T00:00:00Z',
    inputs: [],
    rejected: 0,
    started: Date.now(),
  });
  offlineFiles.set(v.name, await platform.store.localPath(manifest.key));
}
await duck.run('DROP TABLE offline');
log(
  `offline tables: ${VIEWS} views x ${(CUSTOMERS * DAYS).toLocaleString('en-US')} rows ` +
    `(${CUSTOMERS.toLocaleString('en-US')} customers x ${DAYS} days, ${FEATURES} features) written ` +
    `in ${Date.now() - t} ms`,
);

// --- Historical retrieval: ASOF (the product) vs a window-function join (the baseline), both to Parquet.
const entities = path.join(dataDir, 'entities.parquet');
await duck.run(
  `COPY (SELECT printf('c-%07d', hash(i) % ${CUSTOMERS}) AS customer_id, TIMESTAMP '${END.toISOString().slice(0, 10)}'
    - INTERVAL (hash(i, 1) % ${DAYS * 24 * 60}) MINUTE AS event_timestamp FROM range(${ENTITY_ROWS}) r(i))
      TO ${sqlString(entities)} (FORMAT parquet)`,
);
const refs = views.map((v) => `${v.name}:*`);
peakRss.reset();
t = Date.now();
const asof = await writeTrainingSet(platform, {
  entities,
  features: refs,
  out: path.join(dataDir, 'train-asof.parquet'),
});
const asofMs = Date.now() - t;
const asofPeakMb = peakRss.mb();

const resolved = resolveFeatures(registry, { features: refs });
t = Date.now();
await duck.run(`CREATE TABLE e AS SELECT *, row_number() OVER () AS rn FROM read_parquet(${sqlString(entities)})`);
let select = 'SELECT e.customer_id, e.event_timestamp';
let from = 'e';
for (const [i, r] of resolved.views.entries()) {
  const file = offlineFiles.get(r.view.name)!;
  await duck.run(
    `CREATE TEMP TABLE w${i} AS SELECT e.rn, ${r.features.map((f) => `f.${f.name}`).join(', ')} FROM e JOIN
      read_parquet(${sqlString(file)}) f
     ON f.customer_id = e.customer_id AND f.event_timestamp <= e.event_timestamp AND f.event_timestamp >=
       e.event_timestamp - INTERVAL 30 DAY
     QUALIFY row_number() OVER (PARTITION BY e.rn ORDER BY f.event_timestamp DESC, f.created_timestamp DESC) = 1`,
  );
  select += `, ${r.features.map((f) => `w${i}.${f.name}`).join(', ')}`;
  from += ` LEFT JOIN w${i} USING (rn)`;
}
await duck.run(
  `COPY (${select} FROM ${from} ORDER BY e.rn) TO ${sqlString(path.join(dataDir, 'train-window.parquet'))} (FORMAT
    parquet, COMPRESSION zstd)`,
);
const windowMs = Date.now() - t;
const same = await duck.one<{ diff: number }>(
  `SELECT count(*)::INTEGER AS diff FROM (SELECT * FROM
    read_parquet(${sqlString(path.join(dataDir, 'train-asof.parquet'))}) EXCEPT ALL SELECT * FROM
      read_parquet(${sqlString(path.join(dataDir, 'train-window.parquet'))}))`,
);
duck.close();
log(
  `\nHistorical retrieval, ${ENTITY_ROWS.toLocaleString('en-US')} entity rows x ${VIEWS} views ` +
    `(${VIEWS * FEATURES} features), to Parquet:`,
);
log(
  table(
    ['method', 'seconds', 'rows/s', 'speed-up'],
    [
      [
        'ASOF join (mesh features training-set)',
        (asofMs / 1000).toFixed(2),
        rate(asof.rows, asofMs),
        `${(windowMs / asofMs).toFixed(2)}x`,
      ],
      ['window-function join (baseline)', (windowMs / 1000).toFixed(2), rate(ENTITY_ROWS, windowMs), '1.00x'],
    ],
  ),
);
log(
  `rows that differ between the two answers: ${same.diff}; peak RSS of this process during the ASOF ` +
    `job: ${asofPeakMb} MB`,
);
const millions = `${Math.round(ENTITY_ROWS / 1e6) || ENTITY_ROWS / 1e6}m`;
figures.push({
  name: `training_set.${millions}_x${VIEWS}.seconds`,
  value: asofMs / 1000,
  unit: 's',
  baseline: windowMs / 1000,
  ratio: Number((windowMs / asofMs).toFixed(3)),
});
figures.push({ name: `training_set.${millions}_x${VIEWS}.peak_rss_mb`, value: asofPeakMb, unit: 'MB' });

// --- Online: materialize into Redis and SQLite, then latency per batch size.
const redis = await redisForTests();
if (!redis) throw new Error('the online benchmark needs Redis: set REDIS_URL or install redis-server');
const prefix = `bench:${process.pid}:`;
const stores: [string, OnlineStore][] = [
  ['redis', new RedisOnlineStore({ url: redis.url, cluster: false, keyPrefix: prefix })],
  ['sqlite', new SqliteOnlineStore(path.join(dataDir, 'online.sqlite'))],
];
for (const [name, store] of stores) {
  peakRss.reset();
  const reports = await materialize(platform, store, { start: new Date(0), end: END });
  const peakMb = peakRss.mb();
  const written = reports.reduce((n, r) => n + r.written, 0);
  const ms = reports.reduce((n, r) => n + r.ms, 0);
  log(
    `\nmaterialized into ${name}: ${written.toLocaleString('en-US')} vectors in ${(ms / 1000).toFixed(1)} s ` +
      `(${rate(written, ms)}/s, offline read included), peak RSS ${peakMb} MB`,
  );
  figures.push(
    { name: `materialize.${name}.vectors_per_s`, value: Math.round(written / (ms / 1000)), unit: 'vectors/s' },
    { name: `materialize.${name}.peak_rss_mb`, value: peakMb, unit: 'MB' },
  );
}

const raw = new Redis(redis.url);
// The feature server in its own process, as deployed: it must not share an event loop with the client.
const port = await freePort();
const server = spawn(
  process.execPath,
  [path.join(REPO_ROOT, 'cli', 'bin.js'), 'features', 'serve', '--port', String(port)],
  {
    env: {
      ...process.env,
      MESH_DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      MESH_REDIS_KEY_PREFIX: prefix,
      MESH_LOG_LEVEL: 'warn',
      ...UNTHROTTLED,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
// A failed run must not leave the server behind.
process.on('exit', () => server.kill());
const serverUrl = `http://127.0.0.1:${port}`;
await waitUntilAnswering(`${serverUrl}/health`, 'the feature server');
const token = await signUserToken({ sub: 'bench', role: 'ml-engineer' }, platform.config.auth);
const pick = (n: number) =>
  Array.from({ length: n }, () => `c-${String(Math.floor(Math.random() * CUSTOMERS)).padStart(7, '0')}`);
const pct = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = ([p50, p99]: [number, number]) => `${p50.toFixed(2)} / ${p99.toFixed(2)}`;

async function measure(iterations: number, fn: () => Promise<unknown>): Promise<[number, number]> {
  for (let i = 0; i < Math.min(50, iterations); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return [pct(times, 50), pct(times, 99)];
}

// Online scoring: a logistic model over all 50 features, through the features subgraph's DataLoader path, against
// fetching the same features through that path without scoring.
await saveModel(platform.store, {
  name: 'bench',
  createdAt: new Date().toISOString(),
  service: 'bench',
  label: 'synthetic',
  features: resolved.views.flatMap((v) =>
    v.features.map((f) => ({ ref: `${tableId(v.view)}:${f.name}`, name: f.name, mean: 500, std: 290 })),
  ),
  weights: Array.from({ length: VIEWS * FEATURES + 1 }, (_, i) => (i % 7) / 100 - 0.03),
  metrics: {} as never,
  split: {} as never,
});
const identity = await signInternalIdentity({ sub: 'bench', role: 'ml-engineer' }, platform.config.auth, 'features');
const entitiesQuery = (selection: string) =>
  `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { ${selection} } } }`;
const viaGraph =
  (selection: string, n: number, url = serverUrl) =>
  async () => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: identity },
      body: JSON.stringify({
        query: entitiesQuery(selection),
        variables: { r: pick(n).map((id) => ({ __typename: 'Customer', id })) },
      }),
    });
    const body = (await res.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 300));
  };
// The floor under the features subgraph: the same GraphQL stack answering the same shape from memory, in its own
// process.
const graphFloorPort = await freePort();
const graphFloor = spawn(
  process.execPath,
  [
    path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'),
    path.join(REPO_ROOT, 'bench/featureGraphFloor.ts'),
    String(graphFloorPort),
    String(VIEWS * FEATURES),
  ],
  {
    env: { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
process.on('exit', () => graphFloor.kill());
await waitUntilAnswering(`http://127.0.0.1:${graphFloorPort}/health`, 'the GraphQL floor subgraph');
const scoring: (string | number)[][] = [];
for (const n of [1, 10, 100]) {
  const fetchOnly = await measure(300, viaGraph(`features(names: ${JSON.stringify(refs)}) { value }`, n));
  const floor = await measure(
    300,
    viaGraph(`features(names: ${JSON.stringify(refs)}) { value }`, n, `http://127.0.0.1:${graphFloorPort}`),
  );
  const flat = await measure(300, viaGraph(`featureValues(names: ${JSON.stringify(refs)}) { values }`, n));
  const scored = await measure(300, viaGraph('modelScore(model: "bench") { score }', n));
  if (n === 100) {
    figures.push(
      {
        name: 'online.graphql.100.p99_ms',
        value: fetchOnly[1],
        unit: 'ms',
        baseline: floor[1],
        ratio: Number((fetchOnly[1] / floor[1]).toFixed(3)),
      },
      { name: 'online.graphql.floor.100.p99_ms', value: floor[1], unit: 'ms' },
      {
        name: 'online.graphql.flat.100.p99_ms',
        value: flat[1],
        unit: 'ms',
        baseline: fetchOnly[1],
        ratio: Number((flat[1] / fetchOnly[1]).toFixed(3)),
      },
    );
  }
  scoring.push([
    n,
    fmt(fetchOnly),
    fmt(floor),
    `${(fetchOnly[1] / floor[1]).toFixed(2)}x`,
    fmt(flat),
    fmt(scored),
    `${(scored[1] / fetchOnly[1]).toFixed(2)}x`,
  ]);
}
graphFloor.kill();

// The floor under Feast REST: a server in its own process that only sends back bytes it holds, the REST answer for the
// same number of entities, to the same client code. What REST adds above it is the feature server's own work.
const floorDir = path.join(dataDir, 'http-floor');
fs.mkdirSync(floorDir);
const floorPort = await freePort();
const floorServer = spawn(
  process.execPath,
  [
    '-e',
    `const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
     const answers = new Map();
     http.createServer((req, res) => {
       req.resume();
       req.on('end', () => {
         const file = path.join(process.argv[2], new URL(req.url, 'http://x').searchParams.get('n') + '.json');
         if (!answers.has(file) && fs.existsSync(file)) answers.set(file, fs.readFileSync(file));
         if (!answers.has(file)) return res.writeHead(404).end();
         res.writeHead(200, { 'content-type': 'application/json' }).end(answers.get(file));
       });
     }).listen(Number(process.argv[1]), '127.0.0.1');`,
    String(floorPort),
    floorDir,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
process.on('exit', () => floorServer.kill());
const restBody = (n: number) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ features: refs, entities: { customer_id: pick(n) } }),
});
await waitUntilAnswering(`http://127.0.0.1:${floorPort}/?n=ready`, 'the HTTP floor server', true);

const rows: (string | number)[][] = [];
for (const n of [1, 10, 100, 1000]) {
  const iterations = n === 1000 ? 300 : 1000;
  const limit = await measure(iterations, () =>
    raw.mget(resolved.views.flatMap((v) => pick(n).map((k) => `${prefix}${tableId(v.view)}:${k}`))),
  );
  const lib = await measure(iterations, () =>
    readColumns(
      stores[0]![1],
      resolved,
      pick(n).map((customer_id) => ({ customer_id })),
      Date.now(),
    ),
  );
  const rest = await measure(iterations, async () => {
    const res = await fetch(`${serverUrl}/get-online-features`, restBody(n));
    await res.json();
  });
  fs.writeFileSync(
    path.join(floorDir, `${n}.json`),
    await (await fetch(`${serverUrl}/get-online-features`, restBody(n))).text(),
  );
  const floor = await measure(iterations, async () => {
    const res = await fetch(`http://127.0.0.1:${floorPort}/?n=${n}`, restBody(n));
    await res.json();
  });
  const sqlite = await measure(iterations, () =>
    readColumns(
      stores[1]![1],
      resolved,
      pick(n).map((customer_id) => ({ customer_id })),
      Date.now(),
    ),
  );
  if (n === 100) {
    figures.push({ name: 'online.redis.raw.100x50.p99_ms', value: limit[1], unit: 'ms' });
    figures.push({
      name: 'online.redis.library.100x50.p99_ms',
      value: lib[1],
      unit: 'ms',
      baseline: limit[1],
      ratio: Number((lib[1] / limit[1]).toFixed(3)),
    });
    figures.push({
      name: 'online.redis.rest.100x50.p99_ms',
      value: rest[1],
      unit: 'ms',
      baseline: limit[1],
      ratio: Number((rest[1] / limit[1]).toFixed(3)),
    });
    figures.push({ name: 'online.http.floor.100x50.p99_ms', value: floor[1], unit: 'ms' });
    figures.push({ name: 'online.sqlite.library.100x50.p99_ms', value: sqlite[1], unit: 'ms' });
  }
  rows.push([
    n,
    fmt(limit),
    fmt(lib),
    `${(lib[1] / limit[1]).toFixed(2)}x`,
    fmt(rest),
    `${(rest[1] / limit[1]).toFixed(2)}x`,
    fmt(floor),
    `${(rest[1] / floor[1]).toFixed(2)}x`,
    fmt(sqlite),
  ]);
}
log(
  `\nOnline feature vectors, ${VIEWS * FEATURES} features across ${VIEWS} views, random entities ` +
    `of ${CUSTOMERS.toLocaleString('en-US')} (p50 / p99 ms, sequential):`,
);
log(
  table(
    [
      'entities',
      'raw MGET (limit)',
      'library on Redis',
      'p99 vs limit',
      'Feast REST on Redis',
      'p99 vs limit',
      'HTTP floor (same answer)',
      'REST p99 vs floor',
      'library on SQLite',
    ],
    rows,
  ),
);
log('Anchors (published, 100 entities x 50 features): Feast Go server p99 22 ms, Feast Python server p99 163 ms.');
log(`\nOnline scoring (logistic model over the 50 features) through the features subgraph, p50 / p99 ms:`);
log(
  table(
    [
      'entities',
      'fetch 50 features { value }',
      'GraphQL floor (same shape from memory)',
      'p99 vs floor',
      'featureValues { values }',
      'modelScore',
      'score p99 vs fetch',
    ],
    scoring,
  ),
);

server.kill('SIGTERM');
floorServer.kill();
raw.disconnect();
for (const [, s] of stores) {
  if (s instanceof RedisOnlineStore) for (const v of views) await s.drop(tableId(v));
  await s.close();
}
await redis.stop();
fs.rmSync(dataDir, { recursive: true, force: true });
if (values.json) process.stdout.write(`${JSON.stringify({ figures })}\n`);
