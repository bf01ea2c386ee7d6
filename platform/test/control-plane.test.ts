import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLogger } from '../log.js';
import { ErrorCode, isMeshError } from '../errors.js';
import {
  CONTROL_PLANE_MARKER_KEY,
  claimStore,
  createControlPlane,
  updateRecord,
  type ControlPlane,
} from '../control/index.js';
import { createObjectStore, fenceWrites } from '../store/index.js';
import { tempDir } from './helpers.js';
import { privatePostgres, type TestPostgres } from './postgres.js';

const log = createLogger({ level: 'silent', format: 'json', file: '' });
let postgres: TestPostgres | undefined;
const opened: ControlPlane[] = [];

beforeAll(async () => {
  postgres = await privatePostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close().catch(() => {})));
  await postgres?.close();
});

async function conflictOf(p: Promise<unknown>): Promise<{ key: string; expected: number; actual: number }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isMeshError(err, ErrorCode.CONFLICT)) throw new Error(`expected CONFLICT, got ${String(err)}`);
  return err.details as { key: string; expected: number; actual: number };
}

/**
 * The same contract, for both backends: what the registries and the scheduler rely on. Each backend gives a way to
 * open clients of one control plane, as processes or machines would.
 */
const backends: [string, () => Promise<(() => ControlPlane) | undefined>][] = [
  [
    'embedded (SQLite)',
    async () => {
      const dataDir = tempDir();
      return () => createControlPlane({ dataDir }, log);
    },
  ],
  [
    'PostgreSQL',
    async () => {
      if (!postgres) return undefined;
      const controlDb = await postgres.database();
      return () => createControlPlane({ controlDb, dataDir: tempDir() }, log);
    },
  ],
];

describe.each(backends)('control plane contract: %s', (_name, open) => {
  let control: ControlPlane;
  /** A second client of the same control plane: another process or machine. */
  let other: ControlPlane;
  let skip = false;

  beforeAll(async () => {
    const client = await open();
    if (!client) {
      skip = true;
      return;
    }
    control = client();
    other = client();
    opened.push(control, other);
  });

  it('creates a record once, moves it by one revision per write, and refuses a stale revision', async (t) => {
    if (skip) return t.skip();
    expect(await control.read('a/1')).toBeUndefined();
    expect(await control.commit([{ key: 'a/1', value: { n: 1 }, expected: 0 }])).toEqual([1]);
    expect(await conflictOf(other.commit([{ key: 'a/1', value: { n: 9 }, expected: 0 }]))).toEqual({
      key: 'a/1',
      expected: 0,
      actual: 1,
    });
    expect(await other.commit([{ key: 'a/1', value: { n: 2 }, expected: 1 }])).toEqual([2]);
    expect((await conflictOf(control.commit([{ key: 'a/1', value: { n: 3 }, expected: 1 }]))).actual).toBe(2);
    expect(await control.read('a/1')).toEqual({ key: 'a/1', value: { n: 2 }, revision: 2 });
    await control.commit([{ key: 'a/1', value: null, expected: 2 }]);
    expect(await other.read('a/1')).toBeUndefined();
  });

  it('applies every write of a commit or none', async (t) => {
    if (skip) return t.skip();
    await control.commit([{ key: 'b/x', value: 'x1', expected: 0 }]);
    await conflictOf(
      control.commit([
        { key: 'b/y', value: 'y1', expected: 0 },
        { key: 'b/x', value: 'x2', expected: 0 },
      ]),
    );
    expect(await control.read('b/y')).toBeUndefined();
    expect((await control.read('b/x'))?.value).toBe('x1');
    expect(
      await control.commit([
        { key: 'b/y', value: 'y1', expected: 0 },
        { key: 'b/x', value: 'x2', expected: 1 },
      ]),
    ).toEqual([1, 2]);
  });

  it('lists by literal prefix, in key order', async (t) => {
    if (skip) return t.skip();
    for (const key of ['c%/2', 'c%/1', 'cx/1', 'c_/1']) await control.commit([{ key, value: key, expected: 0 }]);
    expect((await control.list('c%/')).map((r) => r.key)).toEqual(['c%/1', 'c%/2']);
    expect((await other.list('c_')).map((r) => r.value)).toEqual(['c_/1']);
  });

  it('loses no update among concurrent writers: one winner per race, every increment kept', async (t) => {
    if (skip) return t.skip();
    await control.commit([{ key: 'd/race', value: 0, expected: 0 }]);
    const results = await Promise.allSettled(
      [control, other, control, other].map((c) => c.commit([{ key: 'd/race', value: 1, expected: 1 }])),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const clients = [control, other];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        updateRecord<number>(clients[i % 2]!, 'd/counter', (n) => (n ?? 0) + 1, 100),
      ),
    );
    expect((await control.read('d/counter'))?.value).toBe(40);
  });

  it('gives a lease to one holder until it expires or is released; the fence grows with each new holder', async (t) => {
    if (skip) return t.skip();
    const a = await control.acquire('lease/sales', 'a', 60_000);
    expect(a?.holder).toBe('a');
    expect(await other.acquire('lease/sales', 'b', 60_000)).toBeUndefined();
    const renewed = await control.acquire('lease/sales', 'a', 60_000);
    expect(renewed?.fence).toBe(a!.fence);
    expect(renewed!.expiresAt.getTime()).toBeGreaterThanOrEqual(a!.expiresAt.getTime());
    await other.release('lease/sales', 'b');
    expect(await other.acquire('lease/sales', 'b', 60_000)).toBeUndefined();
    await control.release('lease/sales', 'a');
    const b = await other.acquire('lease/sales', 'b', 300);
    expect(b?.fence).toBe(a!.fence + 1);
    expect(await control.acquire('lease/sales', 'a', 60_000)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 450));
    expect((await control.acquire('lease/sales', 'a', 60_000))?.fence).toBe(a!.fence + 2);
  });

  it('delivers notifications to listeners until they stop', async (t) => {
    if (skip) return t.skip();
    const got: string[] = [];
    const stop = await other.listen('mesh_test', (p) => got.push(p));
    await control.notify('mesh_test', 'v1');
    await expect.poll(() => got, { timeout: 5000 }).toEqual(['v1']);
    await stop();
    await control.notify('mesh_test', 'v2');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['v1']);
  });
});

describe('PostgreSQL control plane', () => {
  it('applies its migrations once when replicas start together', async (t) => {
    if (!postgres) return t.skip();
    const url = await postgres.database();
    const replicas = [1, 2, 3].map(() => createControlPlane({ controlDb: url, dataDir: tempDir() }, log));
    opened.push(...replicas);
    await Promise.all(replicas.map((c, i) => c.commit([{ key: `m/${i}`, value: i, expected: 0 }])));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('select version, name from mesh_schema_migrations order by version');
    await client.end();
    expect(rows).toEqual([
      { version: 1, name: 'records and leases' },
      { version: 2, name: 'lineage graph' },
    ]);
  });

  it('answers CONTROL_PLANE_ERROR without the password when the database is unreachable', async () => {
    const control = createControlPlane(
      { controlDb: 'postgres://mesh:s3cret@127.0.0.1:1/none', dataDir: tempDir() },
      log,
    );
    opened.push(control);
    const err = await control.read('x').catch((e: unknown) => e);
    expect(isMeshError(err, ErrorCode.CONTROL_PLANE_ERROR)).toBe(true);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('s3cret');
  });
});

describe('one control plane per object store', () => {
  it('refuses a second embedded control plane writing to a store another governs, naming both', async () => {
    const store = createObjectStore({ kind: 'local', root: tempDir() });
    const [hostA, hostB] = [tempDir(), tempDir()];
    const a = createControlPlane({ dataDir: hostA }, log);
    const a2 = createControlPlane({ dataDir: hostA }, log);
    const b = createControlPlane({ dataDir: hostB }, log);
    opened.push(a, a2, b);
    // A role fenced to its own prefixes checks, and leaves the marker to the platform.
    await claimStore(fenceWrites(store, 'feature-store', ['_platform/features/']), a);
    expect(await store.head(CONTROL_PLANE_MARKER_KEY)).toBeUndefined();
    await claimStore(store, a);
    await claimStore(store, a2);
    const err = await claimStore(store, b).catch((e: unknown) => e);
    expect(isMeshError(err, ErrorCode.CONFIG_INVALID), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/governed by another control plane \(embedded, sqlite control\.db on /);
    expect((err as Error).message).toMatch(/not this one \(embedded, .*Point every machine at one MESH_CONTROL_DB/);
  });
});
