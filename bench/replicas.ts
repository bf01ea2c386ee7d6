/**
 * Two ways to run every domain subgraph as two replicas, against one replica, measured in the same run over the same
 * processes (`mesh start --replicas 2`), each through a governed gateway of its own with the response cache off:
 *   one       the gateway routes to the first replica of each subgraph only (the baseline)
 *   client    the gateway balances over both itself (gateway/replicas.ts: round robin, a refused connection retried on
 *             the other replica, a slow call hedged, failing replicas ejected)
 *   haproxy   the gateway routes to HAProxy (Debian's, standing in for a Kubernetes Service), which balances over both
 *             with health checks every second and one retry on a failed connection
 * Each runs the distinct CustomerOverview (domains only) under autocannon, then again while one replica of every
 * domain subgraph is killed with -9 (the supervisor restarts it), with a probe counting partial answers and 5xx.
 *
 * Every path is warmed first, and each round measures them in a rotated order; faults come last.
 *
 *   npx tsx bench/replicas.ts [--scale 0.3] [--duration 8] [--connections 16] [--rounds 2] [--json]
 */
import './production.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, spawnSync } from 'node:child_process';
import { loadConfig } from '../platform/config.js';
import { UNTHROTTLED } from './unthrottled.js';
import { inLoadProcess, type LoadResult } from './loadProcess.js';
import { listDomains } from '../platform/domains.js';
import { signUserToken } from '../platform/auth.js';
import { freePort } from '../platform/http.js';
import { writeAtomic } from '../platform/files.js';
import { table } from '../cli/format.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { EXAMPLE_QUERY, sources } from '../gateway/inProcessMesh.js';
import { startGateway, type RunningGateway } from '../gateway/server.js';
import { composeSupergraph } from '../governance/composition.js';
import { startSupervisedMesh } from '../cli/supervisedMesh.js';
import { createMeshPlatform } from '../cli/platform.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '16' },
    scale: { type: 'string', default: '0.3' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const duration = Number(values.duration);
const connections = Number(values.connections);
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const haproxyBin = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim();
if (!haproxyBin) {
  console.error('haproxy is not installed (apt-get install -y haproxy): the comparison needs it');
  process.exit(1);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-replicas-'));
const env = { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn', ...UNTHROTTLED } as Record<
  string,
  string
>;
const platform = createMeshPlatform(loadConfig(env));
say(`setting up: scale ${values.scale}, pipelines, two processes of every domain subgraph…`);
await generateMarketplace(platform.store, { ...DEFAULT_GENERATE, scale: Number(values.scale) });
const domains = listDomains(platform.config.domainsDir);
for (const d of domains) await runDomainPipeline(platform, d);
const mesh = await startSupervisedMesh(platform, { gatewayPort: 0, randomPorts: true, env, replicas: 2 });
const token = await signUserToken({ sub: 'bench', role: 'analyst' }, platform.config.auth);

// HAProxy: a frontend per subgraph over its two replicas.
const frontends = new Map<string, number>();
const backends: string[] = [];
for (const [name, replicas] of mesh.replicas) {
  const port = await freePort();
  frontends.set(name, port);
  backends.push(
    `frontend fe_${name}\n  bind 127.0.0.1:${port}\n  default_backend be_${name}\n` +
      `backend be_${name}\n  balance roundrobin\n  option httpchk GET /health\n` +
      '  default-server inter 1s fall 2 rise 1\n' +
      replicas.map((r, i) => `  server r${i + 1} ${new URL(r.url).host} check\n`).join(''),
  );
}
const haproxyConfig = path.join(dataDir, 'haproxy.cfg');
fs.writeFileSync(
  haproxyConfig,
  'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n' +
    '  timeout server 10s\n  option http-keep-alive\n  option http-buffer-request\n' +
    '  retries 1\n  option redispatch\n  retry-on conn-failure empty-response\n' +
    backends.join(''),
);
const haproxy = spawn(haproxyBin, ['-f', haproxyConfig, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
await new Promise((r) => setTimeout(r, 500));

/** A governed gateway, cache off, over a supergraph whose subgraphs are at `url(name)`. */
async function gatewayVia(
  name: string,
  url: (subgraph: string, first: string) => string,
  replicas?: Map<string, string[]>,
): Promise<RunningGateway> {
  const served = [...mesh.subgraphs, mesh.metadata].map((s) => ({ ...s, url: url(s.name, s.url) }));
  const file = path.join(dataDir, `supergraph-${name}.graphql`);
  writeAtomic(file, composeSupergraph(sources(served)).supergraphSdl);
  return startGateway(platform, { supergraphFile: file, port: 0, cache: false, subgraphUrls: replicas });
}
const variants = {
  one: await gatewayVia('one', (_, first) => first),
  client: await gatewayVia(
    'client',
    (_, first) => first,
    new Map([...mesh.replicas].map(([name, r]) => [name, r.map((p) => `${p.url}/graphql`)])),
  ),
  haproxy: await gatewayVia('haproxy', (name, first) =>
    frontends.has(name) ? `http://127.0.0.1:${frontends.get(name)}` : first,
  ),
};

const query = EXAMPLE_QUERY.replace(' cardLast4', '');
const customers = Array.from({ length: 500 }, (_, i) => `c-${String(i + 1).padStart(7, '0')}`);
const bodies = customers.map((id) => JSON.stringify({ query, variables: { id } }));

const load = (url: string, seconds: number) =>
  inLoadProcess<LoadResult>('load.ts', dataDir, { url, token, bodies, connections, duration: seconds });

/** Sequential probes until `ms` pass: how many answers were partial (errors beside data) or 5xx. */
async function probe(url: string, ms: number) {
  const end = Date.now() + ms;
  let answers = 0;
  let partial = 0;
  let fivexx = 0;
  for (let i = 0; Date.now() < end; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: bodies[i % bodies.length],
    });
    const body = (await res.json()) as { errors?: unknown[] };
    answers++;
    if (res.status >= 500) fivexx++;
    else if (body.errors?.length) partial++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { answers, partial, fivexx };
}

async function allUp(): Promise<void> {
  while (!mesh.supervisor.states().every((p) => p.phase === 'up')) await new Promise((r) => setTimeout(r, 200));
  // HAProxy marks a restarted server up at its next check.
  await new Promise((r) => setTimeout(r, 1500));
}

const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
const names = Object.keys(variants) as (keyof typeof variants)[];
const urlOf = (name: keyof typeof variants) => `${variants[name].url}/graphql`;
/** Round r measures the variants in an order rotated by r: none always goes first, on colder processes. */
const rotated = (r: number) => [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
// Warm every path first (JIT, DuckDB, the serving copies' lookups): the first minute of a mesh is its slowest.
say('warming up every path…');
for (let r = 0; r < 2; r++) for (const name of rotated(r)) await load(urlOf(name), 5);
const steady = new Map(names.map((n) => [n, [] as { rps: number; p99: number }[]]));
for (let r = 0; r < rounds; r++)
  for (const name of rotated(r)) {
    say(`round ${r + 1}: ${name}…`);
    steady.get(name)!.push(await load(urlOf(name), duration));
  }
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rps = new Map(names.map((n) => [n, Math.round(mean(steady.get(n)!.map((s) => s.rps)))]));
const p99 = new Map(names.map((n) => [n, Math.round(mean(steady.get(n)!.map((s) => s.p99)))]));

// Faults last: killed replicas come back cold, which would slow whatever is measured after them.
const chaos = new Map<string, { answers: number; partial: number; non2xx: number; requests: number }>();
for (const name of names.filter((n) => n !== 'one')) {
  await allUp();
  await load(urlOf(name), 5);
  say(`${name}: load while one replica of every domain subgraph is killed with -9…`);
  const traffic = load(urlOf(name), duration);
  await new Promise((r) => setTimeout(r, (duration * 1000) / 3));
  for (const d of domains) process.kill(mesh.supervisor.pid(`${d.name}#2`)!, 'SIGKILL');
  const probed = await probe(urlOf(name), (duration * 1000) / 2);
  const loaded = await traffic;
  chaos.set(name, {
    answers: probed.answers,
    partial: probed.partial,
    non2xx: loaded.errors + probed.fivexx,
    requests: loaded.requests,
  });
}

for (const name of names) {
  figures.push(
    { name: `replicas.${name}.rps`, value: rps.get(name)!, unit: 'req/s', baseline: rps.get('one')! },
    { name: `replicas.${name}.p99_ms`, value: p99.get(name)!, unit: 'ms', baseline: p99.get('one')! },
  );
  const c = chaos.get(name);
  if (c)
    figures.push(
      { name: `replicas.${name}.kill9.partial_answers`, value: c.partial, unit: 'answers' },
      { name: `replicas.${name}.kill9.non2xx`, value: c.non2xx, unit: 'answers' },
    );
}
for (const f of figures) if (f.baseline) f.ratio = Number((f.value / f.baseline).toFixed(2));
const rows = names.map((name) => {
  const c = chaos.get(name);
  return [
    name,
    String(rps.get(name)),
    `${(rps.get(name)! / rps.get('one')!).toFixed(2)}x`,
    String(p99.get(name)),
    c ? `${c.partial} of ${c.answers}` : '—',
    c ? String(c.non2xx) : '—',
  ];
});

for (const g of Object.values(variants)) await g.close();
haproxy.kill('SIGTERM');
await mesh.close();
if (values.json) process.stdout.write(`${JSON.stringify({ figures, scale: Number(values.scale), connections })}\n`);
else {
  console.log(
    `\n${connections} connections, ${rounds} rounds of ${duration} s each, scale ${values.scale}, ` +
      `${os.cpus().length} cores\n`,
  );
  console.log(
    table(['routing', 'req/s', 'vs one', 'p99 ms', 'partial during kill -9', 'non-2xx during kill -9'], rows),
  );
}
process.exit(0);
