import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Duck } from '../../platform/duckdb.js';
import { tempDir, testPlatform } from '../../platform/test/helpers.js';
import { groupByKey, lookupSql, ServingCopy, type DataFile, type LookupSpec } from '../subgraph/servingCopy.js';
import { listByKey } from '../subgraph/loaders.js';

const log = testPlatform().log;
const ORDERS: LookupSpec = {
  from: 'sales.orders',
  key: 'customer_id',
  select: `order_id AS id, total, placed_at AS "placedAt", note`,
  orderBy: 'placed_at DESC, order_id',
};
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

async function orders(rows: string): Promise<Duck> {
  const duck = await Duck.open();
  opened.push(duck);
  await duck.run(`CREATE SCHEMA sales`);
  await duck.run(
    `CREATE TABLE sales.orders AS SELECT * FROM (VALUES ${rows}) t(order_id, customer_id, total, placed_at, note)`,
  );
  return duck;
}

function copy(duck: Duck, dir: string | undefined): ServingCopy {
  const c = new ServingCopy(duck, dir, log, 'sales');
  opened.push(c);
  c.declare(ORDERS);
  return c;
}

// Keys with one row, many rows (ties on time broken by id), a null key, an unknown key, unicode, and a key no request
// can name (over LMDB's key limit).
const ROWS = [
  `('o1', 'c1', 10.5, TIMESTAMP '2026-01-01 10:00:00', NULL)`,
  `('o3', 'c2', 7, TIMESTAMP '2026-01-03 10:00:00', 'gift')`,
  `('o2', 'c2', 3.25, TIMESTAMP '2026-01-03 10:00:00', 'é✓')`,
  `('o4', 'c2', 1e-3, TIMESTAMP '2026-01-02 10:00:00', '')`,
  `('o5', NULL, 1, TIMESTAMP '2026-01-02 10:00:00', NULL)`,
  `('o6', 'ç-ü', -0.5, TIMESTAMP '2026-01-02 10:00:00', NULL)`,
  `('o7', '${'k'.repeat(1200)}', 1, TIMESTAMP '2026-01-02 10:00:00', NULL)`,
].join(', ');

describe('the serving copy', () => {
  it('answers every key exactly as DuckDB answers the same declaration, in its order', async () => {
    const duck = await orders(ROWS);
    const c = copy(duck, tempDir());
    await c.rebuild(() => 'sales:run-1');
    const keys = ['c1', 'c2', 'ç-ü', 'c-unknown'];
    const held = c.view().rows(ORDERS, keys)!;
    const truth = groupByKey(await duck.all(lookupSql(ORDERS)));
    for (const k of keys) expect(held.get(k), k).toEqual(truth.get(k) ?? []);
    expect(held.get('c2')!.map((r) => r.id)).toEqual(['o2', 'o3', 'o4']);
  });

  it('is built once per data version: another replica opens the same file without reading DuckDB', async () => {
    const dir = tempDir();
    const first = copy(await orders(ROWS), dir);
    await first.rebuild(() => 'sales:run-1');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mdb'));
    expect(files).toHaveLength(1);
    // The second replica's data has no such table: any read of DuckDB would fail its build.
    const empty = await Duck.open();
    opened.push(empty);
    const second = copy(empty, dir);
    await second.rebuild(() => 'sales:run-1');
    expect(empty.queries).toBe(0);
    expect(second.view().rows(ORDERS, ['c1'])!.get('c1')).toEqual(first.view().rows(ORDERS, ['c1'])!.get('c1'));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.mdb'))).toEqual(files);
    // A lookup over a version it has no file for is built, and failing that (no table), left to DuckDB.
    await second.rebuild(() => 'sales:run-2');
    expect(second.view().rows(ORDERS, ['c1'])).toBeUndefined();
  });

  it('keeps answering a request from the version it started on while a new version is swapped in', async () => {
    const duck = await orders(ROWS);
    const c = copy(duck, tempDir());
    await c.rebuild(() => 'sales:run-1');
    const before = c.view();
    await duck.run(`UPDATE sales.orders SET total = total + 100`);
    await c.rebuild(() => 'sales:run-2');
    expect(before.rows(ORDERS, ['c1'])!.get('c1')![0]!.total).toBe(10.5);
    expect(c.view().rows(ORDERS, ['c1'])!.get('c1')![0]!.total).toBe(110.5);
  });

  it('holds nothing when turned off (DuckDB answers) and leaves no partial file when a build fails', async () => {
    const off = copy(await orders(ROWS), undefined);
    await off.rebuild(() => 'sales:run-1');
    expect(off.view().rows(ORDERS, ['c1'])).toBeUndefined();
    // A select DuckDB fails on for some rows: nothing of it may be left to open, not even the file written aside.
    const duck = await Duck.open();
    opened.push(duck);
    await duck.run(`CREATE SCHEMA sales`);
    await duck.run(`CREATE TABLE sales.big AS SELECT i, 'c' || (i % 500) AS k FROM range(20000) t(i)`);
    const failing: LookupSpec = {
      from: 'sales.big',
      key: 'k',
      select: `CASE WHEN i < 15000 THEN i ELSE error('no such value') END AS i`,
      orderBy: 'i',
    };
    const dir = tempDir();
    const broken = new ServingCopy(duck, dir, log, 'sales');
    opened.push(broken);
    broken.declare(failing);
    await broken.rebuild(() => 'sales:run-1');
    expect(broken.view().rows(failing, ['c1'])).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('serves a version whose files changed a little from the copy it has, their keys answered by DuckDB', async () => {
    const duck = await Duck.open();
    opened.push(duck);
    await duck.run(`CREATE SCHEMA sales`);
    const data = tempDir();
    const dir = tempDir();
    /** A Parquet file of orders `from`…`to` of customers c0…c19 (a `bump` to their totals), as a pipeline writes. */
    const write = async (name: string, from: number, to: number, bump = 0): Promise<DataFile> => {
      const file = path.join(data, `${name}.parquet`);
      await duck.run(
        `COPY (SELECT 'o' || i AS order_id, 'c' || (i % 20) AS customer_id, i + ${bump} AS total,
          TIMESTAMP '2026-01-01' + INTERVAL (i % 7) DAY AS placed_at, NULL AS note FROM range(${from}, ${to}) t(i))
          TO '${file}' (FORMAT parquet)`,
      );
      return { path: file, rows: to - from };
    };
    const c = copy(duck, dir);
    let version = 0;
    /** Publishes a version of these files: the view moves, then the copy is told. */
    const publish = async (files: DataFile[]) => {
      version++;
      await duck.run(
        `CREATE OR REPLACE VIEW sales.orders AS SELECT * FROM read_parquet([${files.map((f) => `'${f.path}'`)}])`,
      );
      await c.rebuild(
        () => `sales:run-${version}`,
        () => files,
      );
    };
    const builds = () => fs.readdirSync(dir).filter((f) => f.endsWith('.mdb')).length;
    const keys = [...Array.from({ length: 20 }, (_, i) => `c${i}`), 'c-none'];
    /** Every key through the loader (copy, then DuckDB for what it leaves out) equals DuckDB's answer. */
    const exact = async () => {
      const loader = listByKey(
        { all: (sql) => duck.all(sql), serving: c.view() },
        ORDERS as LookupSpec & { orderBy: string },
      );
      const truth = groupByKey(await duck.all(lookupSql(ORDERS)));
      for (const k of keys) expect(await loader.load(k), k).toEqual(truth.get(k) ?? []);
    };
    const left = () => keys.filter((k) => !c.view().rows(ORDERS, keys)!.has(k));

    const base = await write('base', 0, 200);
    await publish([base]);
    expect(builds()).toBe(1);
    expect(left()).toEqual([]);

    // New orders of c3 and c4 only (o203, o204 are theirs… by i % 20): no copy written, those two left to DuckDB.
    const small = await write('small', 203, 205);
    await publish([base, small]);
    expect(builds()).toBe(1);
    expect(left()).toEqual(['c3', 'c4']);
    await exact();
    // A replica started now carries the copy another built for the version before (its sidecar names the files).
    const replica = copy(duck, dir);
    await replica.rebuild(
      () => `sales:run-${version}`,
      () => [base, small],
    );
    expect(builds()).toBe(1);
    expect(keys.filter((k) => !replica.view().rows(ORDERS, keys)!.has(k))).toEqual(['c3', 'c4']);

    // More than half the copy's rows changed since it was built: served at once, a copy of this version written aside.
    const more = await write('more', 1000, 1100);
    await publish([base, small, more]);
    expect(left().length).toBe(20);
    await exact();
    await c.settled();
    expect(builds()).toBe(2);
    expect(left()).toEqual([]);
    await exact();

    // A file removed is read for its keys; gone from disk, the copy is carried from one that never had it (the first).
    await publish([base, more]);
    expect(left()).toEqual(['c3', 'c4']);
    await exact();
    fs.rmSync(more.path);
    const again = await write('again', 1000, 1150, 1);
    await publish([base, again]);
    expect(builds()).toBe(2);
    expect(left().length).toBe(20);
    await exact();
    await c.settled();
    expect(builds()).toBe(3);
    expect(left()).toEqual([]);
    await exact();

    // Changed by more rows than the copy holds (a stream far ahead of it): still served at once from the copy, no copy
    // built in the way of the version; the one written aside catches up.
    const flood = await write('flood', 2000, 3000);
    await publish([base, again, flood]);
    expect(builds()).toBe(3);
    expect(left().length).toBe(20);
    await exact();
    await c.settled();
    expect(builds()).toBe(4);
    expect(left()).toEqual([]);
  });
});
