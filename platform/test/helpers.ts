// Test helpers of the runtime's floor, which every layer's tests may use: temporary folders, the test data clock, a
// platform whose lineage is recorded in memory, Redis servers, HTTP and metrics probes, the masking oracle.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, hkdfSync } from 'node:crypto';
import { loadConfig, REPO_ROOT, type MeshConfig } from '../config.js';
import { createPlatform, type LineagePort, type Platform } from '../platform.js';
import { signUserToken } from '../auth.js';
import { freePort } from '../http.js';
import type { RunEvent } from '../openlineage.js';
import type { ObjectStore } from '../store/index.js';

export { freePort };

export function tempDir(prefix = 'mesh-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The data clock of tests: the day after their generated data ends, whatever the calendar says (MESH_NOW). */
export const TEST_NOW = '2026-11-02T00:00:00.000Z';

/**
 * The environment of a CLI a test starts: nothing of the caller's store, S3, lineage or Redis settings (a run where
 * production secrets happen to be set must never write into the real bucket), a fresh local data directory unless one
 * is given, the test data clock, silent logs.
 */
export function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(MESH_|AWS_|OPENLINEAGE_|DATAHUB_)|^REDIS_URL$/.test(k)),
  );
  return {
    ...inherited,
    MESH_STORE: 'local',
    MESH_DATA_DIR: tempDir(),
    MESH_LOG_LEVEL: 'silent',
    MESH_NOW: TEST_NOW,
    ...env,
  };
}

/** Configuration of a test: a fresh local data directory, the test data clock, silent logs; `env` on top. */
export function testConfig(env: Record<string, string> = {}): MeshConfig {
  return loadConfig({ MESH_DATA_DIR: tempDir(), MESH_LOG_LEVEL: 'silent', MESH_NOW: TEST_NOW, ...env });
}

/** A lineage port that keeps every event it is handed, for tests below the lineage layer. */
export interface RecordingLineage extends LineagePort {
  readonly events: RunEvent[];
}

/** A platform on `config` (and `store`, else the configured one) whose lineage events are recorded in memory. */
export function recordingPlatform(config: MeshConfig, store?: ObjectStore): Platform<RecordingLineage> {
  return createPlatform(config, {
    store,
    lineage: (c, storeUrl) => {
      const events: RunEvent[] = [];
      return { namespace: c.lineage.namespace, storeNamespace: storeUrl, events, emit: (e) => events.push(e) };
    },
  });
}

/** A platform on a fresh local data directory, its data clock pinned to TEST_NOW, its lineage events recorded. */
export function testPlatform(env: Record<string, string> = {}): Platform<RecordingLineage> {
  return recordingPlatform(testConfig(env));
}

/** Servers a test starts keep real time even when the test runs under faketime (they are not the code under test). */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')),
  );
}

/** promtool and prometheus come from Debian's `prometheus` package: skipped loudly without it, a failure under CI. */
export function hasPrometheus(): boolean {
  if (spawnSync('sh', ['-c', 'command -v promtool && command -v prometheus']).status === 0) return true;
  if (process.env.CI) throw new Error('promtool/prometheus are missing: CI must install the prometheus package');
  console.warn(
    '\n\n!!! SKIPPING Prometheus checks: promtool/prometheus not on PATH (apt-get install -y prometheus) !!!\n\n',
  );
  return false;
}

/**
 * A Redis for tests: REDIS_URL when set (CI starts one), otherwise a private redis-server on a free port. Without
 * either the caller skips loudly; under CI that is a failure.
 */
export async function redisForTests(): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  return privateRedis();
}

/**
 * A redis-server of the test's own, on a free port, which the test may kill and restart on the same port (chaos). With
 * `persistDir` it keeps an append-only file there, so a restart comes back with the data written before the kill.
 * Undefined (after a loud warning) without redis-server on PATH; under CI that throws.
 */
export async function privateRedis(
  options: { persistDir?: string } = {},
): Promise<{ url: string; stop(): Promise<void>; kill(): Promise<void>; restart(): Promise<void> } | undefined> {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    if (process.env.CI)
      throw new Error('redis-server is not installed: CI must run the tests that need a Redis of their own');
    console.warn(
      '\n\n!!! SKIPPING tests that need a private Redis: no redis-server on PATH (apt-get install -y redis-server) ' +
        '!!!\n\n',
    );
    return undefined;
  }
  const port = await freePort();
  const persistence = options.persistDir
    ? ['--dir', options.persistDir, '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  let child: ChildProcess;
  const up = async () => {
    child = spawn(found, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
      stdio: 'ignore',
      env: serverEnv(),
    });
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        }).once('error', () => resolve(false));
      });
      if (ok) break;
      if (i > 100) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await up();
  return { url: `redis://127.0.0.1:${port}`, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), restart: up };
}

/**
 * A three-master Redis Cluster of private redis-server processes (redis-cli --cluster create), for the cluster mode of
 * the online store. Needs redis-server and redis-cli on PATH: skipped loudly without them, a failure under CI.
 */
export async function redisClusterForTests(): Promise<{ urls: string; stop(): Promise<void> } | undefined> {
  const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim() !== '';
  if (!has('redis-server') || !has('redis-cli')) {
    if (process.env.CI)
      throw new Error('redis-server and redis-cli are needed to test the Redis Cluster online store in CI');
    console.warn(
      '\n\n!!! SKIPPING Redis Cluster tests: redis-server / redis-cli not on PATH (apt-get install -y redis-server) ' +
        '!!!\n\n',
    );
    return undefined;
  }
  const dir = tempDir('mesh-redis-cluster-');
  const node = (port: number) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { cwd: dir, stdio: 'ignore', env: serverEnv() },
    );
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  };
  // A free port can be taken by another socket before the server binds it (busy test runs open many): a node that
  // exits at once starts again on another port.
  for (let n = 0; n < 3; n++) {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const child = node(port);
      let up = false;
      for (let i = 0; i < 200 && child.exitCode === null && !up; i++) {
        up =
          spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', env: serverEnv() }).stdout.trim() ===
          'PONG';
        if (!up) await new Promise((r) => setTimeout(r, 50));
      }
      if (up) {
        ports.push(port);
        children.push(child);
        break;
      }
      child.kill('SIGKILL');
      if (attempt >= 3) {
        await stop();
        throw new Error(`redis-server did not start (last tried on port ${port})`);
      }
    }
  }
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'],
    { encoding: 'utf8', env: serverEnv() },
  );
  if (create.status !== 0) {
    await stop();
    throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
  }
  for (
    let i = 0;
    !/cluster_state:ok/.test(
      spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8', env: serverEnv() })
        .stdout,
    );
    i++
  ) {
    if (i > 200) throw new Error('the Redis cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { urls: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
}

/**
 * A private copy of the domain folders that tests may change, at the repository root so that the domains' relative
 * imports of the platform still resolve (`../../platform/…`). Git ignores `.domains-*`.
 */
export function copyDomains(): { dir: string; remove(): void } {
  const dir = path.join(REPO_ROOT, `.domains-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  fs.cpSync(path.join(REPO_ROOT, 'subgraphs'), dir, { recursive: true });
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A sample's value from Prometheus text exposition, by name and labels (in any order; others may be present). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/**
 * The token a column's value must have, computed here from the documented scheme (docs/governance.md), not by the code
 * under test: HMAC-SHA256 under HKDF-SHA256(master key, salt "mesh-masking-v1", info
 * "column:<product>/<dataset>.<column>").
 */
export function expectedToken(masterKey: string, column: string, value: string): string {
  const key = Buffer.from(hkdfSync('sha256', masterKey, 'mesh-masking-v1', `column:${column}`, 32));
  return `tok_${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 16)}`;
}

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>['body'] };
}

export async function bearer(platform: Platform, role: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signUserToken({ sub: `test-${role}`, role }, platform.config.auth)}` };
}
