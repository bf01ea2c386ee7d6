/**
 * Gateway throughput and latency, six gateways over the same subgraph schemas, measured in the same run:
 *   governed           the mesh's gateway (JWT, PII rules, armor, lineage, usage, metrics, response cache)
 *   governed-no-cache  the same without its response cache
 *   shielded           governed-no-cache over domain subgraphs of its own (bench/domainSubgraph.ts), with their
 *                      graphql-shield PII rule tree
 *   no-shield          the same over subgraphs launched alike but without the rule tree (the gateway still prunes
 *                      denied fields): shielded against no-shield is what the subgraphs' own PII enforcement costs
 *   plain-apollo       @apollo/gateway with nothing added but the internal identity header
 *   hive               Hive Gateway (@graphql-hive/gateway-runtime, default settings) plus the identity header
 *   limit              the governed gateway, cache off, over stub subgraphs answering from memory: the serving limit
 * Scenarios: `same` (one CustomerOverview everywhere), `distinct` (a different customer per request), `mixed`
 * (CustomerOverview, dailyRevenue, a catalog page, online features, in turn), `rest` (the same distinct
 * CustomerOverview as GET /sales/v1/customers/{id}/overview, on the governed gateways, which alone serve REST).
 * Subgraphs run as `npm start` runs them, one supervised process each; autocannon runs in a process of its own. One
 * token sends everything, so its cost budget is out of reach (bench/unthrottled.ts): bench/contention.ts measures
 * admission.
 *
 *   npx tsx bench/gateway.ts [--duration 10] [--connections 20] [--scale 1] [--gateways a,b] [--scenarios a,b]
 *                            [--rounds N] [--json]
 */
import './production.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { loadConfig, REPO_ROOT } from '../platform/config.js';
import { UNTHROTTLED } from './unthrottled.js';
import { inLoadProcess, type LoadResult } from './loadProcess.js';
import { Duck, readParquet } from '../platform/duckdb.js';
import { IDENTITY_HEADER, signInternalIdentity, signUserToken } from '../platform/auth.js';
import { freePort } from '../platform/http.js';
import { writeAtomic } from '../platform/files.js';
import { table } from '../cli/format.js';
import { Rng } from '../jobs/generate/rng.js';
import { curatedDatasetPaths } from '../products/readers.js';
import { applyFeatures, computeFeatures } from '../feature-subgraph/featureStore.js';
import { materialize } from '../feature-subgraph/materialize.js';
import { createOnlineStore } from '../feature-subgraph/online/index.js';
import { EXAMPLE_QUERY, sources } from '../gateway/inProcessMesh.js';
import { startGateway } from '../gateway/server.js';
import { composeSupergraph } from '../governance/composition.js';
import { startSupervisedMesh } from '../cli/supervisedMesh.js';
import { createMeshPlatform } from '../cli/platform.js';
import { turns } from './turns.js';

const GATEWAYS = ['governed', 'governed-no-cache', 'shielded', 'no-shield', 'plain-apollo', 'hive', 'limit'] as const;
const SCENARIOS = ['same', 'distinct', 'mixed', 'rest'] as const;
/** Scenarios that are GETs of REST paths, not GraphQL bodies. */
const REST_SCENARIOS = new Set<string>(['rest']);
type Gateway = (typeof GATEWAYS)[number];
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    scale: { type: 'string', default: '1' },
    gateways: { type: 'string', default: GATEWAYS.join(',') },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    rounds: { type: 'string', default: '1' },
    // Set by bench/scales.ts: measured in turns with other processes (bench/turns.ts).
    turns: { type: 'string' },
    turn: { type: 'string', default: '0' },
    of: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const duration = Number(values.duration);
const connections = Number(values.connections);
const gateways = values.gateways.split(',') as Gateway[];
const scenarios = values.scenarios.split(',') as Scenario[];
const turn = turns(values.turns, Number(values.turn), Number(values.of));
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-gw-'));
const env = { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn', ...UNTHROTTLED } as Record<
  string,
  string
>;
const platform = createMeshPlatform(loadConfig(env));
say(`setting up: scale ${values.scale}, pipelines, features, subgraph processes…`);
// Generated and curated by processes of their own: done here, it left this process (the gateways measured) with 427 MB
// of private memory at scale 100 when the measurements began, and a heap to collect that grew with the scale.
const meshCommand = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'cli/bin.js'), ...args], {
    env,
    // Their progress is kept, and shown only in the error of a command that fails.
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
meshCommand('generate', '--scale', values.scale);
meshCommand('run', '--no-features');
// Only the mixed scenario reads features; without it the feature views are not computed (minutes at scale 100).
if (scenarios.includes('mixed')) {
  await applyFeatures(platform);
  await computeFeatures(platform, {});
  const online = createOnlineStore(platform.config.online);
  await materialize(platform, online, { incremental: true, end: new Date(platform.now()) });
  await online.close();
}

// Subgraphs as deployed (one supervised process each) and the governed gateway over them.
const mesh = await startSupervisedMesh(platform, { gatewayPort: 0, randomPorts: true, env });
const served = [...mesh.subgraphs, ...(mesh.features ? [mesh.features] : []), mesh.metadata];
// The other gateways serve the same subgraphs, composed here with where their processes listen.
const supergraphFile = path.join(dataDir, 'supergraph.graphql');
writeAtomic(supergraphFile, composeSupergraph(sources(served)).supergraphSdl);
const urls: Record<Gateway, string> = { governed: `${mesh.gateway.url}/graphql` } as Record<Gateway, string>;
const closers: (() => Promise<unknown>)[] = [() => mesh.close()];
const internal = Object.fromEntries(
  await Promise.all(
    served.map(
      async (s) =>
        [s.name, await signInternalIdentity({ sub: 'bench', role: 'analyst' }, platform.config.auth, s.name)] as const,
    ),
  ),
);

if (gateways.includes('governed-no-cache')) {
  const g = await startGateway(platform, {
    supergraphFile: supergraphFile,
    port: 0,
    cache: false,
  });
  urls['governed-no-cache'] = `${g.url}/graphql`;
  closers.push(() => g.close());
}
if (gateways.includes('plain-apollo')) {
  const plain = new ApolloServer({
    gateway: new ApolloGateway({
      supergraphSdl: fs.readFileSync(supergraphFile, 'utf8'),
      buildService: ({ name, url }) =>
        new RemoteGraphQLDataSource({
          url,
          willSendRequest: ({ request }) => void request.http?.headers.set(IDENTITY_HEADER, internal[name]!),
        }),
    }),
  });
  urls['plain-apollo'] = (await startStandaloneServer(plain, { listen: { port: 0 } })).url;
  closers.push(() => plain.stop());
}
if (gateways.includes('hive')) {
  const hive = await startHive(fs.readFileSync(supergraphFile, 'utf8'));
  if (hive) {
    urls.hive = hive.url;
    closers.push(hive.close);
  }
}
const stubs: ChildProcess[] = [];
/** Domain subgraphs of the `shielded` and `no-shield` gateways, whose CPU is counted too. */
const abServed: typeof served = [];
for (const [gateway, mode] of [
  ['shielded', 'shield'],
  ['no-shield', 'bare'],
] as const) {
  if (!gateways.includes(gateway)) continue;
  const own = await Promise.all(
    mesh.subgraphs.map(async (s) => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'),
          path.join(REPO_ROOT, 'bench/domainSubgraph.ts'),
          s.name,
          String(port),
          mode,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], env },
      );
      stubs.push(child);
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      return { ...s, url: `http://127.0.0.1:${port}` };
    }),
  );
  abServed.push(...own.map((s) => ({ ...s, name: `${s.name}-${mode}` })));
  const file = path.join(dataDir, `supergraph-${gateway}.graphql`);
  const others = served.filter((s) => !mesh.subgraphs.includes(s));
  writeAtomic(file, composeSupergraph(sources([...own, ...others])).supergraphSdl);
  const g = await startGateway(platform, { supergraphFile: file, port: 0, cache: false });
  urls[gateway] = `${g.url}/graphql`;
  closers.push(() => g.close());
}
if (gateways.includes('limit')) {
  const stubbed = await Promise.all(
    served.map(async (s) => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'),
          path.join(REPO_ROOT, 'bench/stubSubgraph.ts'),
          `${s.url}/graphql`,
          String(port),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      stubs.push(child);
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      return { ...s, url: `http://127.0.0.1:${port}` };
    }),
  );
  const file = path.join(dataDir, 'supergraph-stubs.graphql');
  writeAtomic(file, composeSupergraph(sources(stubbed)).supergraphSdl);
  const g = await startGateway(platform, { supergraphFile: file, port: 0, cache: false });
  urls.limit = `${g.url}/graphql`;
  closers.push(() => g.close());
}

// Every customer with orders, most orders first; product categories; date windows of the generated history.
const duck = await Duck.open();
// Orders may name a customer the CRM export does not have (yet): those answer null (404 over REST), not measured.
const everyCustomer = (
  await duck.all<{ id: string }>(
    `SELECT customer_id AS id FROM ${readParquet(await curatedDatasetPaths(platform, 'sales', 'orders'))} o
      JOIN ${readParquet(await curatedDatasetPaths(platform, 'sales', 'customers'))} c USING (customer_id) GROUP BY 1
        ORDER BY count(*) DESC, 1`,
  )
).map((r) => r.id);
// Requests go to customers spread over all of them, at most this many: more than a run sends, so each is a different
// customer, without one body per customer at scale 100 (hundreds of MB of strings on the heap the gateways share).
const MAX_CUSTOMERS = 20_000;
const stride = Math.ceil(everyCustomer.length / MAX_CUSTOMERS);
const customers = everyCustomer.filter((_, i) => i % stride === 0);
// Loads take them shuffled (the same way every run), since a load starts from the first: in order of orders, a run at
// scale 100 reached only the customers with the most orders, and scales were compared on different customers.
const spread = shuffled(customers);
const categories = (
  await duck.all<{ c: string }>(
    `SELECT DISTINCT category AS c
      FROM ${readParquet(await curatedDatasetPaths(platform, 'catalog', 'products'))} ORDER BY 1`,
  )
).map((r) => r.c);
const { first, last } = await duck.one<{ first: string; last: string }>(
  `SELECT CAST(min(placed_at) AS DATE)::VARCHAR AS first, CAST(max(placed_at) AS DATE)::VARCHAR AS last
    FROM ${readParquet(await curatedDatasetPaths(platform, 'sales', 'orders'))}`,
);
duck.close();

const overview = (id: string) => JSON.stringify({ query: EXAMPLE_QUERY, variables: { id } });
const overviewPath = (id: string) => `/sales/v1/customers/${encodeURIComponent(id)}/overview`;
const DAY = 86_400_000;
const bodies: Record<Scenario, string[]> = {
  same: [overview(customers[0]!)],
  distinct: spread.map(overview),
  mixed: spread.flatMap((id, i) => {
    const from = new Date(
      Date.parse(first!) + ((i * 7) % Math.max(1, (Date.parse(last!) - Date.parse(first!)) / DAY - 7)) * DAY,
    )
      .toISOString()
      .slice(0, 10);
    const to = new Date(Date.parse(from) + 6 * DAY).toISOString().slice(0, 10);
    return [
      overview(id),
      JSON.stringify({
        query:
          'query DailyRevenue($from: String!, $to: String!) { dailyRevenue(from: $from, to: $to) { date orders ' +
          'revenueEur } }',
        variables: { from, to },
      }),
      JSON.stringify({
        query:
          'query CatalogPage($category: String) { products(category: $category, first: 20) { edges { node { id name ' +
          'brand price } } } }',
        variables: { category: categories[i % categories.length] },
      }),
      JSON.stringify({
        query:
          'query Features($id: ID!) { customer(id: $id) { id features(service: "customer_repurchase") { name value ' +
          'status } } }',
        variables: { id },
      }),
    ];
  }),
  rest: spread.map(overviewPath),
};
const token = await signUserToken({ sub: 'bench', role: 'analyst' }, platform.config.auth);

function load(url: string, list: string[], seconds: number, rest = false): Promise<LoadResult> {
  return inLoadProcess<LoadResult>('load.ts', dataDir, {
    url: rest ? url.replace(/\/graphql$/, '') : url,
    token,
    ...(rest ? { paths: list } : { bodies: list }),
    connections,
    duration: seconds,
  });
}

/** Every body once, 8 at a time: the stubs learn their answers, and nothing measured is a first sight. */
async function warmAll(url: string, list: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < list.length) {
        const body = list[next++]!;
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        }).then((r) => r.text());
      }
    }),
  );
}

/**
 * A gateway's answer to a body, as data (errors aside: the plain gateways carry the subgraphs' denials differently).
 */
async function answer(url: string, body: string): Promise<string> {
  const r = (await (
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    })
  ).json()) as { data?: unknown; errors?: unknown[] };
  return JSON.stringify(r.data ?? r.errors);
}

// Every gateway must give the governed gateway's answers before its speed means anything.
for (const gateway of gateways) {
  if (!urls[gateway] || gateway === 'governed') continue;
  for (const scenario of scenarios.filter((x) => !REST_SCENARIOS.has(x))) {
    for (const body of bodies[scenario].slice(0, 4)) {
      const [want, got] = [await answer(urls.governed, body), await answer(urls[gateway], body)];
      if (want !== got) {
        const full = await (
          await fetch(urls[gateway], {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body,
          })
        ).text();
        say(`${gateway} answers differently, not measured: ${full.slice(0, 400)}`);
        delete urls[gateway];
        break;
      }
    }
    if (!urls[gateway]) break;
  }
}

/** CPU seconds each subgraph process has used (its own /metrics), and this process (the gateways). */
async function cpuNow(): Promise<Record<string, number>> {
  const out: Record<string, number> = { gateway: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 };
  for (const s of [...served, ...abServed]) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    out[s.name] = Number(/process_cpu_seconds_total\{[^}]*\} ([\d.e+-]+)/.exec(text)?.[1] ?? NaN);
  }
  return out;
}

// The subgraph processes warm up once, before anything is timed: over two seconds of warm-up per gateway, whichever
// gateway was measured first paid their JIT (twice their CPU per request) and looked 30-40% slower than it is.
// The shielded and no-shield gateways' subgraphs are processes of their own: they are warmed up the same way.
await turn.ready();
await turn.take(async () => {
  for (const warmUrl of [urls['governed-no-cache'] ?? urls.governed, urls.shielded, urls['no-shield']])
    if (warmUrl)
      await load(
        warmUrl,
        Object.values(bodies)
          .flat()
          .filter((b) => b.startsWith('{'))
          .map((b) => b.replace('"query":"', '"query":"# warm-up\\n')),
        12,
      );
});

/** The governed gateway's response-cache counts so far, by outcome (its own /metrics). */
async function cacheLookups(): Promise<Record<string, number>> {
  const text = await (await fetch(`${mesh.gateway.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^mesh_response_cache_requests_total\{[^}]*outcome="(\w+)"[^}]*\} ([\d.e+-]+)$/gm))
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

const results: {
  scenario: Scenario;
  gateway: Gateway;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMsPerRequest: Record<string, number>;
  cacheHitRatio?: number;
  /** Throughput of every round, when there were several (the fields above are the median round's). */
  roundsRps?: number[];
}[] = [];
/** One timed load of a gateway with a scenario: throughput, latency, errors, CPU per request, cache hits. */
async function measure(scenario: Scenario, gateway: Gateway, url: string, rest: boolean) {
  const before = await cpuNow();
  const lookupsBefore = gateway === 'governed' ? await cacheLookups() : undefined;
  const r = await load(url, bodies[scenario], duration, rest);
  const after = await cpuNow();
  // A scenario's list repeats once the run outlasts it: the share of answers the cache gave is reported, not hidden.
  let cacheHitRatio: number | undefined;
  if (lookupsBefore) {
    const lookupsAfter = await cacheLookups();
    const delta = (k: string) => (lookupsAfter[k] ?? 0) - (lookupsBefore[k] ?? 0);
    // Each lookup is a hit or a miss; `stored` and `uncacheable` follow a miss.
    const total = delta('hit') + delta('miss');
    cacheHitRatio = total > 0 ? Number((delta('hit') / total).toFixed(3)) : 0;
  }
  // Where the time goes: CPU milliseconds per request in each process (the gateway's includes its idle neighbours).
  const cpuMsPerRequest = Object.fromEntries(
    Object.keys(after).map((k) => [
      k,
      Number(((1000 * (after[k]! - before[k]!)) / Math.max(1, r.requests)).toFixed(2)),
    ]),
  );
  say(
    `${scenario.padEnd(8)} ${gateway.padEnd(18)} ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, ` +
      `p99 ${r.p99} ms, ${r.errors} errors`,
  );
  return {
    scenario,
    gateway,
    rps: Math.round(r.rps),
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    cpuMsPerRequest,
    ...(cacheHitRatio === undefined ? {} : { cacheHitRatio }),
  };
}

// With --rounds N, every gateway of a scenario is measured N times, in alternating order (the one measured second
// used to win by 15% on this machine, whichever it was), and the round with its median throughput is reported.
for (const scenario of scenarios) {
  const rest = REST_SCENARIOS.has(scenario);
  const measured = gateways.filter((g) => urls[g] && (!rest || g.startsWith('governed')));
  await turn.take(async () => {
    for (const gateway of measured) {
      const url = urls[gateway]!;
      if (gateway === 'limit') await warmAll(url, bodies[scenario]);
      // JIT and connection warm-up with other documents (a comment, or another page size, changes them), so no answer
      // measured comes from it.
      else
        await load(
          url,
          bodies[scenario]
            .slice(0, 200)
            .map((b) => (rest ? `${b}?orders=4` : b.replace('"query":"', '"query":"# warm-up\\n'))),
          2,
          rest,
        );
    }
  });
  const runs = new Map<Gateway, Awaited<ReturnType<typeof measure>>[]>();
  for (let round = 0; round < rounds; round++)
    await turn.take(async () => {
      for (const gateway of round % 2 === 0 ? measured : [...measured].reverse())
        runs.set(gateway, [...(runs.get(gateway) ?? []), await measure(scenario, gateway, urls[gateway]!, rest)]);
    });
  for (const gateway of measured) {
    const all = runs.get(gateway)!;
    const median = [...all].sort((a, b) => a.rps - b.rps)[Math.floor((all.length - 1) / 2)]!;
    results.push({ ...median, ...(rounds > 1 ? { roundsRps: all.map((r) => r.rps) } : {}) });
  }
}

// Idle latency: CustomerOverview for one customer after another, one at a time.
const sequential: { gateway: Gateway; p50: number; p99: number }[] = [];
let sequentialRest: { p50: number; p99: number } | undefined;
// The customers with the most orders (of the sample), as before the loads were shuffled.
const sequentialBodies = customers
  .slice(0, 300)
  .map((c) => overview(c).replace('"query":"', '"query":"# sequential\\n'));
await turn.take(async () => {
  for (const gateway of ['governed', 'governed-no-cache'] as const) {
    if (!urls[gateway]) continue;
    const ms: number[] = [];
    for (const body of sequentialBodies) {
      const t = performance.now();
      await fetch(urls[gateway], {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      }).then((r) => r.text());
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    sequential.push({
      gateway,
      p50: Number(ms[Math.floor(ms.length / 2)]!.toFixed(2)),
      p99: Number(ms[Math.floor(ms.length * 0.99)]!.toFixed(2)),
    });
  }
  // The same, as REST GETs of the same customers (other page size: no answer is cached from the GraphQL pass).
  if (urls.governed && scenarios.includes('rest')) {
    const ms: number[] = [];
    for (const p of customers.slice(0, 300).map(overviewPath)) {
      const t = performance.now();
      await fetch(`${mesh.gateway.url}${p}?orders=5`, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
        r.text(),
      );
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    sequentialRest = {
      p50: Number(ms[Math.floor(ms.length / 2)]!.toFixed(2)),
      p99: Number(ms[Math.floor(ms.length * 0.99)]!.toFixed(2)),
    };
  }
});

const rss: Record<string, number> = {};
const subgraphs: { name: string; rssMb: number; privateMb: number; fileMb: number; startToServingMs: number }[] = [];
await turn.take(async () => {
  // Resident memory of each subgraph process (its own /metrics), after the measurements.
  for (const s of mesh.subgraphs) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    rss[s.name] = Math.round(Number(/process_resident_memory_bytes\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0) / 1024 / 1024);
  }
  // RSS split as the kernel counts it: private memory, and pages of mapped files (the serving copy's, shared by a
  // host's replicas and reclaimable, and the binaries').
  const split = (name: string) => {
    const status = fs.readFileSync(`/proc/${mesh.supervisor.pid(name)}/status`, 'utf8');
    const mb = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024);
    return { privateMb: mb('RssAnon'), fileMb: mb('RssFile') };
  };
  // A replica joining on a host that already holds its data version's serving copy: from its spawn to its first answer.
  for (const s of mesh.subgraphs)
    subgraphs.push({
      name: s.name,
      rssMb: rss[s.name]!,
      ...split(s.name),
      startToServingMs: await startToServing(s.name),
    });
});

if (values.json)
  process.stdout.write(
    `${JSON.stringify({
      scenarios: results,
      subgraphs,
      sequential,
      ...(sequentialRest ? { sequentialRest } : {}),
      rssMb: rss,
      scale: Number(values.scale),
      connections,
      duration,
      cores: os.cpus().length,
    })}\n`,
  );
else {
  const limit = new Map(results.filter((r) => r.gateway === 'limit').map((r) => [r.scenario, r.rps]));
  const plainRps = new Map(results.filter((r) => r.gateway === 'plain-apollo').map((r) => [r.scenario, r.rps]));
  // REST against the same operation over GraphQL, on the same gateway: the translation's cost.
  const graphql = new Map(results.filter((r) => r.scenario === 'distinct').map((r) => [r.gateway, r]));
  const vsGraphql = (r: (typeof results)[number]) =>
    r.scenario === 'rest' && graphql.get(r.gateway)
      ? `${(r.rps / graphql.get(r.gateway)!.rps).toFixed(2)}x of GraphQL`
      : '';
  console.log(
    `\n${everyCustomer.length} customers, scale ${values.scale}, ${connections} connections, ${duration} s ` +
      `each, ${os.cpus().length} cores; subgraphs one process each, autocannon in its own\n`,
  );
  console.log(
    table(
      [
        'scenario',
        'gateway',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'cache hits',
        'of limit',
        'vs plain',
        'CPU ms per request: gateway / subgraphs',
      ],
      results.map((r) => [
        r.scenario,
        r.gateway,
        r.rps,
        r.p50,
        r.p99,
        r.errors,
        r.cacheHitRatio === undefined ? '' : `${Math.round(100 * r.cacheHitRatio)}%`,
        limit.get(r.scenario) ? `${Math.round((100 * r.rps) / limit.get(r.scenario)!)}%` : '',
        plainRps.get(r.scenario) ? `${(r.rps / plainRps.get(r.scenario)!).toFixed(2)}x` : vsGraphql(r),
        `${r.cpuMsPerRequest.gateway} / ${Object.entries(r.cpuMsPerRequest)
          .filter(([k]) => k !== 'gateway')
          .map(([k, v]) => `${k} ${v}`)
          .join(' ')}`,
      ]),
    ),
  );
  console.log(
    `\n${table(
      ['idle, one request at a time', 'p50 ms', 'p99 ms'],
      [
        ...sequential.map((s) => [s.gateway, s.p50, s.p99]),
        ...(sequentialRest ? [['governed, REST', sequentialRest.p50, sequentialRest.p99]] : []),
      ],
    )}`,
  );
  const shielded = results.find((r) => r.scenario === 'distinct' && r.gateway === 'shielded');
  const bare = results.find((r) => r.scenario === 'distinct' && r.gateway === 'no-shield');
  if (shielded && bare)
    console.log(
      `\nsubgraphs' graphql-shield PII rules, distinct CustomerOverview, cache off: ${shielded.rps} req/s with, ` +
        `${bare.rps} without (${(shielded.rps / bare.rps).toFixed(3)}x)`,
    );
  console.log(
    `\n${table(
      ['subgraph', 'RSS MB', 'private MB', 'mapped files MB', 'new replica: start to serving ms'],
      subgraphs.map((s) => [s.name, s.rssMb, s.privateMb, s.fileMb, s.startToServingMs]),
    )}`,
  );
}
for (const close of closers.reverse()) await close();
for (const c of stubs) c.kill('SIGTERM');
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);

/** A Fisher-Yates shuffle with a fixed seed. */
function shuffled<T>(items: T[]): T[] {
  const rng = new Rng(42);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Forks one more process of a domain subgraph as the supervisor does; ms from the fork to its first answer. */
async function startToServing(name: string): Promise<number> {
  const port = await freePort();
  // Signed now: an internal identity lasts minutes, and a run taking turns reaches this step long after its set-up.
  const identity = await signInternalIdentity({ sub: 'bench', role: 'analyst' }, platform.config.auth, name);
  const started = performance.now();
  const child = fork(path.join(REPO_ROOT, 'cli/bin.js'), ['serve', name, '--port', String(port)], {
    env,
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: identity },
        body: JSON.stringify({ query: '{ __typename }' }),
      }).then(
        (r) => {
          // Refused is an answer that will not change: polled on, it would wait forever.
          if (r.status === 401 || r.status === 403) throw new Error(`${name} refused the bench's identity`);
          return r.ok;
        },
        () => false,
      );
      if (answered) return Math.round(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * Hive Gateway with default settings over the same supergraph, plus the identity header; undefined if not installed.
 */
async function startHive(supergraph: string): Promise<{ url: string; close: () => Promise<void> } | undefined> {
  let runtime: typeof import('@graphql-hive/gateway-runtime');
  try {
    // Some of its dependencies expect Node 22's Promise.withResolvers.
    (Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function <T>() {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
      return { promise, resolve, reject };
    };
    runtime = await import('@graphql-hive/gateway-runtime');
  } catch (err) {
    say(`Hive Gateway not measured: ${(err as Error).message}`);
    return undefined;
  }
  const gateway = runtime.createGatewayRuntime({
    supergraph,
    logging: false,
    maskedErrors: false,
    propagateHeaders: {
      fromClientToSubgraphs: ({ subgraphName }: { subgraphName: string }) => ({
        [IDENTITY_HEADER]: internal[subgraphName]!,
      }),
    },
  });
  const http = await import('node:http');
  const server = http.createServer(gateway);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: async () => {
      server.close();
      await gateway.dispose();
    },
  };
}
