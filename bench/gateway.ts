/**
 * Gateway throughput and latency for the CustomerOverview query: the governed gateway (JWT, PII rules, armor, metrics,
 * in-flight dedup) against a plain @apollo/gateway over the same subgraphs, measured in the same run with autocannon.
 * Also DuckDB queries per request at list sizes 5 and 50 (DataLoader batching keeps them constant).
 *
 *   npx tsx bench/gateway.ts [--duration 10] [--connections 20] [--scale 1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { loadConfig, REPO_ROOT } from '../platform/config.js';
import { createMeshPlatform } from '../lineage/meshPlatform.js';
import { listDomains } from '../platform/domains.js';
import { Duck, sqlString } from '../platform/duckdb.js';
import { IDENTITY_HEADER, signInternalIdentity, signUserToken } from '../platform/auth.js';
import { table } from '../cli/format.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { curatedDatasetPath } from '../products/readers.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { EXAMPLE_QUERY } from '../gateway/mesh.js';
import { writeAtomic } from '../platform/files.js';
import { startGateway } from '../gateway/server.js';
import { composeSupergraph } from '../governance/composition.js';
import { freePort } from '../test/helpers.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '20' }, scale: { type: 'string', default: '1' } } });
const duration = Number(values.duration);
const connections = Number(values.connections);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-gw-'));
const platform = createMeshPlatform(loadConfig({ ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' }));
await generateMarketplace(platform.store, { ...DEFAULT_GENERATE, scale: Number(values.scale) });
const domains = listDomains(platform.config.domainsDir);
for (const d of domains) await runDomainPipeline(platform, d);

// Subgraphs in their own processes, as deployed: the gateway must not share an event loop with them.
const children: ChildProcess[] = [];
const subgraphs: { name: string; url: string; sdl: string }[] = [];
for (const d of domains) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'cli/bin.js'), 'serve', d.name, '--port', String(port)], {
    env: { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  subgraphs.push({ name: d.name, url: `http://127.0.0.1:${port}/graphql`, sdl: fs.readFileSync(path.join(d.dir, 'schema.graphql'), 'utf8') });
}
const supergraphFile = path.join(dataDir, 'supergraph.graphql');
writeAtomic(supergraphFile, composeSupergraph(subgraphs).supergraphSdl);
const gateway = await startGateway(platform, { supergraphFile, port: 0 });
const mesh = { gateway, supergraphFile };

// Customers with the most orders, so list sizes matter.
const duck = await Duck.open();
const customers = (await duck.all<{ id: string }>(`SELECT customer_id AS id FROM read_parquet(${sqlString(await curatedDatasetPath(platform, 'sales', 'orders'))}) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 200`)).map((r) => r.id);
duck.close();

// The baseline: plain @apollo/gateway, same supergraph and subgraphs (which need the gateway identity to answer).
const internal = Object.fromEntries(await Promise.all(domains.map(async (d) => [d.name, await signInternalIdentity({ sub: 'bench', role: 'analyst' }, platform.config.auth, d.name)] as const)));
const plain = new ApolloServer({
  gateway: new ApolloGateway({
    supergraphSdl: fs.readFileSync(mesh.supergraphFile, 'utf8'),
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest: ({ request }) => void request.http?.headers.set(IDENTITY_HEADER, internal[name]!),
      }),
  }),
});
const { url: plainUrl } = await startStandaloneServer(plain, { listen: { port: 0 } });
const token = await signUserToken({ sub: 'bench', role: 'analyst' }, platform.config.auth);

async function run(url: string, vary: boolean) {
  let i = 0;
  const body = (id: string) => JSON.stringify({ query: EXAMPLE_QUERY, variables: { id } });
  const result = await autocannon({
    url,
    connections,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body(customers[0]!),
    requests: vary ? [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body(customers[i++ % customers.length]!) }) }] : undefined,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const rows: (string | number)[][] = [];
for (const [scenario, vary] of [
  ['same customer from every connection', false],
  ['a different customer per request', true],
] as const) {
  const governed = await run(`${mesh.gateway.url}/graphql`, vary);
  const base = await run(plainUrl, vary);
  rows.push([scenario, 'governed', Math.round(governed.rps), governed.p50, governed.p99, (governed.rps / base.rps).toFixed(2)]);
  rows.push(['', 'plain @apollo/gateway', Math.round(base.rps), base.p50, base.p99, '1.00']);
}

const queries: (string | number)[][] = [];
for (const n of [5, 50]) {
  const q = EXAMPLE_QUERY.replace('orders(first: 5)', `orders(first: ${n})`).replace('campaignTouches(first: 5)', `campaignTouches(first: ${n})`);
  const res = await fetch(`${mesh.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: q, variables: { id: customers[0] } }) });
  const data = (await res.json()) as { data: { customer: { orders: unknown[] } } };
  queries.push([n, data.data.customer.orders.length, Number(res.headers.get('x-mesh-duckdb-queries')), res.headers.get('x-mesh-subgraph-fetches')!]);
}

console.log(`CustomerOverview as analyst, ${connections} connections, ${duration} s each, scale ${values.scale}; gateways and autocannon in one process, each subgraph in its own; ${os.cpus().length} cores\n`);
console.log(table(['scenario', 'gateway', 'req/s', 'p50 ms', 'p99 ms', 'vs plain'], rows));
console.log(`\n${table(['list size asked', 'orders returned', 'DuckDB queries', 'subgraph fetches'], queries)}`);
await plain.stop();
await gateway.close();
for (const c of children) c.kill('SIGTERM');
