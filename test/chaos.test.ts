import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '../platform/config.js';
import { signUserToken } from '../platform/auth.js';
import { listDomains } from '../platform/domains.js';
import { type MeshPlatform } from '../lineage/platformLineage.js';
import { generateMarketplace } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { applyFeatures, computeFeatures } from '../feature-subgraph/featureStore.js';
import { materialize } from '../feature-subgraph/materialize.js';
import { createOnlineStore } from '../feature-subgraph/online/index.js';
import { startSupervisedMesh, type SupervisedMesh } from '../cli/supervisedMesh.js';
import { EXAMPLE_QUERY } from '../gateway/inProcessMesh.js';
import { consoleRoutes } from '../console/routes.js';
import { MESH_DATA } from '../gateway/test/mesh.js';
import { createMeshPlatform } from '../cli/platform.js';
import { childEnv, privateRedis, tempDir, TEST_NOW } from '../platform/test/helpers.js';

/**
 * Faults under load, against the mesh as `npm start` runs it (one supervised process per subgraph, the gateway here):
 * a subgraph killed with SIGKILL, a subgraph frozen with SIGSTOP, Redis killed. Load comes from autocannon in its own
 * process; a probe in this process reads every answer. Loopback only, bounded in time.
 */
const SUBGRAPH_TIMEOUT_MS = 1_000;
/**
 * The example query without the one field analysts are always denied (card endings), so a full answer has no errors.
 */
const OVERVIEW = EXAMPLE_QUERY.replace(' cardLast4', '');
const AUTOCANNON = path.join(REPO_ROOT, 'node_modules', 'autocannon', 'autocannon.js');

let platform: MeshPlatform;
let mesh: SupervisedMesh;
let env: NodeJS.ProcessEnv;
let redis: Awaited<ReturnType<typeof privateRedis>>;
/** The same data served by two processes of every domain subgraph and of the feature server. */
let replicated: SupervisedMesh | undefined;
let analyst: Record<string, string>;
let ml: Record<string, string>;

beforeAll(async () => {
  redis = await privateRedis({ persistDir: tempDir('mesh-chaos-redis-') });
  if (!redis) return;
  env = childEnv({
    MESH_DATA_DIR: tempDir(),
    REDIS_URL: redis.url,
    MESH_REDIS_KEY_PREFIX: 'chaos:',
    MESH_SUBGRAPH_TIMEOUT_MS: String(SUBGRAPH_TIMEOUT_MS),
    MESH_REDIS_TIMEOUT_MS: '300',
    MESH_RESPONSE_CACHE_ENTRIES: '0',
  });
  // The response cache is off: these faults are about what reaches the subgraphs, which cached answers would not.
  platform = createMeshPlatform(loadConfig(env as Record<string, string>));
  await generateMarketplace(platform.store, MESH_DATA);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
  await computeFeatures(platform, {});
  const online = createOnlineStore(platform.config.online);
  await materialize(platform, online, { incremental: true, end: new Date(TEST_NOW) });
  await online.close();
  mesh = await startSupervisedMesh(platform, {
    gatewayPort: 0,
    randomPorts: true,
    env,
    routes: (g) => consoleRoutes(platform, g),
  });
  analyst = {
    'content-type': 'application/json',
    authorization: `Bearer ${await signUserToken({ sub: 'chaos', role: 'analyst' }, platform.config.auth)}`,
  };
  ml = {
    'content-type': 'application/json',
    authorization: `Bearer ${await signUserToken({ sub: 'chaos', role: 'ml-engineer' }, platform.config.auth)}`,
  };
}, 240_000);

afterAll(async () => {
  await mesh?.close();
  await replicated?.close();
  await redis?.stop();
});

interface Answer {
  at: number;
  ms: number;
  status: number;
  codes: string[];
  body: {
    data?: { customer?: Record<string, unknown> | null };
    errors?: { extensions?: { code?: string; subgraph?: string } }[];
  } & Record<string, unknown>;
}

async function ask(url: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const start = Date.now();
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const parsed = (await res.json()) as Answer['body'];
  const codes = [
    ...(parsed.errors ?? []).map((e) => e.extensions?.code ?? ''),
    ...((parsed.errors ?? []) as { code?: string }[]).map((e) => e.code ?? ''),
  ].filter(Boolean);
  return { at: start, ms: Date.now() - start, status: res.status, codes, body: parsed };
}

/** autocannon in a child process for `seconds`; resolves with its JSON summary. */
function load(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  seconds: number,
): {
  done: Promise<{
    requests: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
    errors: number;
  }>;
  child: ChildProcess;
} {
  const args = [
    AUTOCANNON,
    '-c',
    '8',
    '-d',
    String(seconds),
    '-m',
    'POST',
    '-b',
    JSON.stringify(body),
    '--json',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    url,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{
    requests: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
    errors: number;
  }>((resolve, reject) =>
    child.once('exit', () => {
      try {
        const r = JSON.parse(out) as {
          requests: { total: number };
          non2xx: number;
          statusCodeStats: Record<string, { count: number }>;
          errors: number;
        };
        resolve({ requests: r.requests.total, non2xx: r.non2xx, statusCodeStats: r.statusCodeStats, errors: r.errors });
      } catch (err) {
        reject(new Error(`autocannon printed no JSON: ${out.slice(0, 300)} (${String(err)})`));
      }
    }),
  );
  return { done, child };
}

/** Probes sequentially until `until` returns true for an answer or `ms` pass; returns every answer. */
async function probe(ask1: () => Promise<Answer>, ms: number, until?: (a: Answer) => boolean): Promise<Answer[]> {
  const out: Answer[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const a = await ask1();
    out.push(a);
    if (until?.(a)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return out;
}

const fivexx = (stats: Record<string, { count: number }>) =>
  Object.entries(stats)
    .filter(([code]) => code.startsWith('5'))
    .reduce((n, [, s]) => n + s.count, 0);
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

describe('chaos under load', () => {
  it('kill -9 of a domain subgraph: partial data with SUBGRAPH_UNAVAILABLE within a second, restarted, full answers ' +
    'without restarting the gateway', async (ctx) => {
    if (!redis) return ctx.skip();
    const gql = `${mesh.gateway.url}/graphql`;
    const overview = { query: OVERVIEW, variables: { id: 'c-0000001' } };
    const full = await ask(gql, overview, analyst);
    expect(full.status).toBe(200);
    expect(full.codes).toEqual([]);
    const before = mesh.supervisor.pid('payments')!;
    const traffic = load(gql, overview, analyst, 8);
    await new Promise((r) => setTimeout(r, 1_500));
    const killedAt = Date.now();
    process.kill(before, 'SIGKILL');
    const degraded = await probe(
      () => ask(gql, overview, analyst),
      3_000,
      (a) => a.codes.includes('SUBGRAPH_UNAVAILABLE'),
    );
    const first = degraded.find((a) => a.codes.includes('SUBGRAPH_UNAVAILABLE'));
    expect(first, 'an answer naming the unavailable subgraph').toBeDefined();
    expect(first!.at + first!.ms - killedAt).toBeLessThan(1_000);
    expect(first!.status).toBe(200);
    expect(first!.body.data?.customer?.id, 'the rest of the answer is still served').toBe('c-0000001');
    expect(first!.body.errors!.some((e) => e.extensions?.subgraph === 'payments')).toBe(true);
    const recovery = await probe(
      () => ask(gql, overview, analyst),
      45_000,
      (a) => a.status === 200 && a.codes.length === 0,
    );
    const recoveredAt = recovery.at(-1)!.at + recovery.at(-1)!.ms;
    expect(recovery.at(-1)!.codes, 'full answers again').toEqual([]);
    const summary = await traffic.done;
    const health = (await (await fetch(`${mesh.gateway.url}/health`)).json()) as {
      status: string;
      processes: { name: string; phase: string; restarts: number }[];
    };
    const metrics = await (await fetch(`${mesh.gateway.url}/metrics`)).text();
    const console_ = (await (await fetch(`${mesh.gateway.url}/console/api/slo`, { headers: analyst })).json()) as {
      processes?: { name: string; restarts: number; lastExit?: { signal: string | null } }[];
    };
    console.log(
      `chaos kill -9 payments: ${summary.requests} requests under load, ${fivexx(summary.statusCodeStats)} 5xx, ` +
        `first partial answer ${first!.at + first!.ms - killedAt} ms after the kill, full ` +
        `answers ${recoveredAt - killedAt} ms after it`,
    );
    expect(fivexx(summary.statusCodeStats)).toBe(0);
    expect(summary.errors).toBe(0);
    expect(health.status).toBe('ok');
    // An open probe sees each process's state; its pid, address and last exit only an operator or admin does.
    expect(health.processes.find((p) => p.name === 'payments')).toEqual({ name: 'payments', phase: 'up', restarts: 1 });
    const admin = `Bearer ${await signUserToken({ sub: 'chaos', role: 'admin' }, platform.config.auth)}`;
    const detailed = (await (
      await fetch(`${mesh.gateway.url}/health`, { headers: { authorization: admin } })
    ).json()) as {
      processes: { name: string; pid?: number; lastExit?: { signal: string | null } }[];
    };
    expect(detailed.processes.find((p) => p.name === 'payments')).toMatchObject({
      pid: mesh.supervisor.pid('payments'),
      lastExit: { signal: 'SIGKILL' },
    });
    const asAnalyst = (await (await fetch(`${mesh.gateway.url}/health`, { headers: analyst })).json()) as {
      processes: Record<string, unknown>[];
    };
    expect(asAnalyst.processes.every((p) => p.pid === undefined && p.url === undefined)).toBe(true);
    expect(mesh.supervisor.pid('payments')).not.toBe(before);
    expect(console_.processes?.find((p) => p.name === 'payments')).toMatchObject({
      restarts: 1,
      lastExit: { signal: 'SIGKILL' },
    });
    expect(metrics).toMatch(/mesh_process_restarts_total\{process="payments"[^}]*\} 1\n/);
    expect(metrics).toMatch(/mesh_process_up\{process="payments"[^}]*\} 1\n/);
  }, 90_000);

  it('SIGSTOP of a domain subgraph: the subgraph deadline fires (GATEWAY_TIMEOUT, partial data) and bounds p99; ' +
    'SIGCONT restores full answers', async (ctx) => {
    if (!redis) return ctx.skip();
    const gql = `${mesh.gateway.url}/graphql`;
    const overview = { query: OVERVIEW, variables: { id: 'c-0000001' } };
    const pid = mesh.supervisor.pid('fulfillment')!;
    const traffic = load(gql, overview, analyst, 6);
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(pid, 'SIGSTOP');
    let answers: Answer[];
    try {
      answers = await probe(() => ask(gql, overview, analyst), 3_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const summary = await traffic.done;
    const frozen = answers.filter((a) => a.codes.includes('GATEWAY_TIMEOUT'));
    console.log(
      `chaos SIGSTOP fulfillment: ${summary.requests} requests under load, ${fivexx(summary.statusCodeStats)} 5xx; ` +
        `probe p99 ${p99(answers.map((a) => a.ms))} ms over ${answers.length} answers (subgraph ` +
        `deadline ${SUBGRAPH_TIMEOUT_MS} ms)`,
    );
    expect(frozen.length).toBeGreaterThan(0);
    expect(frozen.every((a) => a.status === 200 && a.body.data?.customer?.id === 'c-0000001')).toBe(true);
    expect(p99(answers.map((a) => a.ms))).toBeLessThan(SUBGRAPH_TIMEOUT_MS + 750);
    expect(fivexx(summary.statusCodeStats)).toBe(0);
    const recovery = await probe(
      () => ask(gql, overview, analyst),
      10_000,
      (a) => a.codes.length === 0,
    );
    expect(recovery.at(-1)!.codes).toEqual([]);
  }, 90_000);

  it('Redis killed under load: features answer INVALID statuses with an error, never 5xx, and recover when Redis ' +
    'returns', async (ctx) => {
    if (!redis) return ctx.skip();
    const feast = `${mesh.features!.url}/get-online-features`;
    const request = { feature_service: 'customer_repurchase', entities: { customer_id: ['c-0000001', 'c-0000002'] } };
    type Feast = { results: { statuses: string[] }[]; errors?: { code: string }[] };
    const statuses = (a: Answer) => (a.body as unknown as Feast).results.slice(1).flatMap((r) => r.statuses);
    const healthy = await ask(feast, request, ml);
    expect(healthy.status).toBe(200);
    expect(statuses(healthy)).toContain('PRESENT');
    const traffic = load(feast, request, ml, 8);
    await new Promise((r) => setTimeout(r, 1_000));
    const stoppedAt = Date.now();
    await redis!.kill();
    const down = await probe(() => ask(feast, request, ml), 2_500);
    const graph = await ask(
      `${mesh.gateway.url}/graphql`,
      {
        query:
          'query($id: ID!) { customer(id: $id) { id features(service: "customer_repurchase") { name value status } ' +
          'featureValues(service: "customer_repurchase") { values statuses } } }',
        variables: { id: 'c-0000001' },
      },
      analyst,
    );
    await redis!.restart();
    const restartedAt = Date.now();
    const recovery = await probe(
      () => ask(feast, request, ml),
      15_000,
      (a) => statuses(a).includes('PRESENT'),
    );
    const summary = await traffic.done;
    console.log(
      `chaos Redis kill: ${summary.requests} requests under ` +
        `load, ${fivexx(summary.statusCodeStats)} 5xx; ${down.length} probes while down, PRESENT ` +
        `again ${recovery.at(-1)!.at + recovery.at(-1)!.ms - restartedAt} ms after Redis restarted ` +
        `(${restartedAt - stoppedAt} ms outage)`,
    );
    expect(fivexx(summary.statusCodeStats)).toBe(0);
    expect(down.every((a) => a.status === 200)).toBe(true);
    const degraded = down.filter((a) =>
      (a.body as unknown as Feast).errors?.some((e) => e.code === 'ONLINE_STORE_ERROR'),
    );
    expect(degraded.length).toBeGreaterThan(0);
    for (const a of degraded) expect(new Set(statuses(a))).toEqual(new Set(['INVALID']));
    expect(JSON.stringify(down.map((a) => a.body))).not.toMatch(/redis:\/\/|127\.0\.0\.1/);
    const features =
      (graph.body.data?.customer as { features?: { status: string; value: unknown }[] } | undefined)?.features ?? [];
    expect(graph.status).toBe(200);
    expect(graph.body.data?.customer?.id, 'domain data still served beside the missing features').toBe('c-0000001');
    expect(features.length).toBeGreaterThan(0);
    expect(features.every((f) => f.status === 'INVALID' && f.value === null)).toBe(true);
    const flat = (
      graph.body.data?.customer as { featureValues?: { values: unknown[]; statuses: string[] } } | undefined
    )?.featureValues;
    expect(flat).toEqual({ values: features.map(() => null), statuses: features.map(() => 'INVALID') });
    expect(graph.codes).toContain('ONLINE_STORE_ERROR');
    expect(statuses(recovery.at(-1)!)).toContain('PRESENT');
  }, 90_000);
});

describe('chaos with two replicas of every subgraph', () => {
  beforeAll(async () => {
    if (!redis) return;
    // One mesh at a time on two cores: the single-process one has had its turn.
    await mesh.close();
    mesh = undefined as unknown as SupervisedMesh;
    replicated = await startSupervisedMesh(platform, { gatewayPort: 0, randomPorts: true, env, replicas: 2 });
    // The probes ask as a caller of their own: the load spends its own cost budget, never theirs.
    probeAs = {
      'content-type': 'application/json',
      authorization: `Bearer ${await signUserToken({ sub: 'chaos-probe', role: 'analyst' }, platform.config.auth)}`,
    };
  }, 240_000);
  let probeAs: Record<string, string>;

  const overview = { query: OVERVIEW, variables: { id: 'c-0000001' } };
  const subgraphs = () => [...replicated!.replicas.keys()];

  it('kill -9 of one replica of every subgraph under load: no 5xx, no partial answer', async (ctx) => {
    if (!redis) return ctx.skip();
    const gql = `${replicated!.gateway.url}/graphql`;
    expect(subgraphs()).toEqual(expect.arrayContaining(['sales', 'fulfillment', 'payments', 'features']));
    expect((await ask(gql, overview, probeAs)).codes).toEqual([]);
    const traffic = load(gql, overview, analyst, 8);
    await new Promise((r) => setTimeout(r, 1_500));
    for (const name of subgraphs()) process.kill(replicated!.supervisor.pid(`${name}#2`)!, 'SIGKILL');
    const answers = await probe(() => ask(gql, overview, probeAs), 4_000);
    const summary = await traffic.done;
    const partial = answers.filter((a) => a.codes.length > 0);
    console.log(
      `chaos kill -9 of one replica of each of ${subgraphs().length} subgraphs: ${summary.requests} requests under ` +
        `load, ${fivexx(summary.statusCodeStats)} 5xx; ${answers.length} probes, ${partial.length} partial, p99 ` +
        `${p99(answers.map((a) => a.ms))} ms`,
    );
    expect(fivexx(summary.statusCodeStats)).toBe(0);
    expect(summary.errors).toBe(0);
    expect(partial.map((a) => a.codes)).toEqual([]);
    expect(answers.every((a) => a.status === 200 && a.body.data?.customer?.id === 'c-0000001')).toBe(true);
  }, 90_000);

  it('SIGSTOP of one replica under load: answers stay complete, p99 under the subgraph deadline', async (ctx) => {
    if (!redis) return ctx.skip();
    const gql = `${replicated!.gateway.url}/graphql`;
    // The killed replicas are back (the supervisor restarts them) before this fault.
    await expect
      .poll(() => replicated!.supervisor.states().every((p) => p.phase === 'up'), { timeout: 30_000, interval: 200 })
      .toBe(true);
    const pid = replicated!.supervisor.pid('fulfillment#2')!;
    const traffic = load(gql, overview, analyst, 6);
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(pid, 'SIGSTOP');
    let answers: Answer[];
    try {
      answers = await probe(() => ask(gql, overview, probeAs), 3_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const summary = await traffic.done;
    console.log(
      `chaos SIGSTOP of fulfillment#2: ${summary.requests} requests under load, ${fivexx(summary.statusCodeStats)} ` +
        `5xx; probe p99 ${p99(answers.map((a) => a.ms))} ms over ${answers.length} answers (subgraph deadline ` +
        `${SUBGRAPH_TIMEOUT_MS} ms)`,
    );
    expect(answers.map((a) => a.codes).filter((c) => c.length > 0)).toEqual([]);
    expect(p99(answers.map((a) => a.ms))).toBeLessThan(SUBGRAPH_TIMEOUT_MS);
    expect(fivexx(summary.statusCodeStats)).toBe(0);
  }, 90_000);
});
