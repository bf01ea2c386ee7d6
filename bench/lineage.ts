/**
 * What lineage costs a query: CustomerOverview through the governed gateway with lineage going only to the local graph,
 * against the same with OPENLINEAGE_URL pointing at a port nobody listens on. Sequential latency and autocannon req/s,
 * measured in the same run; then the count of events spooled (none may be lost).
 *
 *   npx tsx bench/lineage.ts [--duration 10] [--connections 10] [--scale 0.5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadConfig } from '../platform/config.js';
import { type MeshPlatform } from '../lineage/platformLineage.js';
import { listDomains } from '../platform/domains.js';
import { signUserToken } from '../platform/auth.js';
import { table } from '../cli/format.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { startMesh, EXAMPLE_QUERY } from '../gateway/inProcessMesh.js';
import { createMeshPlatform } from '../cli/platform.js';
import { freePort } from '../platform/test/helpers.js';
import { UNTHROTTLED } from './unthrottled.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    scale: { type: 'string', default: '0.5' },
  },
});
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-lineage-'));
const env = { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'silent', ...UNTHROTTLED };
const base = createMeshPlatform(loadConfig(env));
await generateMarketplace(base.store, { ...DEFAULT_GENERATE, scale: Number(values.scale) });
for (const d of listDomains(base.config.domainsDir)) await runDomainPipeline(base, d);
const body = JSON.stringify({ query: EXAMPLE_QUERY, variables: { id: 'c-0000001' } });

async function measure(platform: MeshPlatform) {
  const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${await signUserToken({ sub: 'bench', role: 'analyst' }, platform.config.auth)}`,
  };
  const url = `${mesh.gateway.url}/graphql`;
  for (let i = 0; i < 50; i++) await (await fetch(url, { method: 'POST', headers, body })).json();
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = process.hrtime.bigint();
    await (await fetch(url, { method: 'POST', headers, body })).json();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const load = await autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections: Number(values.connections),
    duration: Number(values.duration),
  });
  mesh.gateway.lineage?.flush();
  await platform.lineage.emitter.flush();
  await mesh.close();
  return {
    p50: times[150]!,
    p99: times[297]!,
    rps: load.requests.average,
    errors: load.errors + load.non2xx,
    stats: platform.lineage.emitter.snapshot(),
  };
}

// Alternated twice, so that warm-up and drift do not pass for a cost.
const unreachable = `http://127.0.0.1:${await freePort()}`;
const rows: (string | number)[][] = [];
let down!: Awaited<ReturnType<typeof measure>>;
let local!: Awaited<ReturnType<typeof measure>>;
for (let round = 1; round <= 2; round++) {
  local = await measure(createMeshPlatform(loadConfig(env), base.store));
  down = await measure(createMeshPlatform(loadConfig({ ...env, OPENLINEAGE_URL: unreachable }), base.store));
  rows.push([
    `${round}: local graph only`,
    local.p50.toFixed(2),
    local.p99.toFixed(2),
    Math.round(local.rps),
    local.errors,
    '1.00x',
  ]);
  rows.push([
    `${round}: + OPENLINEAGE_URL unreachable`,
    down.p50.toFixed(2),
    down.p99.toFixed(2),
    Math.round(down.rps),
    down.errors,
    `${(down.rps / local.rps).toFixed(2)}x`,
  ]);
}
process.stdout.write(
  `\nCustomerOverview as analyst, lineage of every operation (aggregated per 5 s), ${values.connections} ` +
    `connections:\n${table(['lineage transports', 'p50 ms', 'p99 ms', 'req/s', 'errors', 'req/s vs local'], rows)}\n`,
);
process.stdout.write(
  `events with the endpoint down: ${JSON.stringify(down.stats)} (spooled on disk, resent when it is back)\n`,
);
fs.rmSync(dataDir, { recursive: true, force: true });
