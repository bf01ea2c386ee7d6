import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisOnlineStore, SqliteOnlineStore, type OnlineStore } from '../online/index.js';
import { onlineStoreUrl, type OnlineRecord } from '../online/types.js';
import { redisClusterForTests, redisForTests, tempDir } from '../../platform/test/helpers.js';

const DAY = 86_400_000;
const now = Date.now();
const rec = (key: string, eventTs: number, values: unknown[], createdTs = eventTs) => ({
  key,
  eventTs,
  createdTs,
  values,
});
const plain = (r: OnlineRecord | undefined) => r && { eventTs: r.eventTs, createdTs: r.createdTs, values: r.values };

/** The same contract for every online store implementation. */
function contract(name: string, open: () => Promise<OnlineStore | undefined>) {
  describe(`online store contract: ${name}`, () => {
    let store: OnlineStore | undefined;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });
    const table = () => `t_${randomUUID().slice(0, 8)}@v1`;

    it('reads back what it wrote, in key order, undefined for absent keys, several tables in one read', async (ctx) => {
      if (!store) return ctx.skip();
      const [a, b] = [table(), table()];
      await store.write(a, [rec('c1', now - DAY, [1, 2.5, 'x', true]), rec('c2', now - DAY, [null, 0, '', false])], 0);
      await store.write(b, [rec('c1', now - 2 * DAY, [42])], 0);
      const [ra, rb] = await store.read([
        { table: a, keys: ['c2', 'missing', 'c1'] },
        { table: b, keys: ['c1'] },
      ]);
      expect(ra!.map(plain)).toEqual([
        { eventTs: now - DAY, createdTs: now - DAY, values: [null, 0, '', false] },
        undefined,
        { eventTs: now - DAY, createdTs: now - DAY, values: [1, 2.5, 'x', true] },
      ]);
      expect(rb!.map(plain)).toEqual([{ eventTs: now - 2 * DAY, createdTs: now - 2 * DAY, values: [42] }]);
      // The text the values are kept as, for readers that pass it on (Feast REST), says the same.
      expect(JSON.parse(ra![2]!.valuesJson!)).toEqual([1, 2.5, 'x', true]);
      expect(await store.read([])).toEqual([]);
    });

    it('never replaces a newer value with an older one; ties go to the later created time', async (ctx) => {
      if (!store) return ctx.skip();
      const t = table();
      expect(await store.write(t, [rec('k', now - DAY, ['new'])], 0)).toEqual({ written: 1, skipped: 0 });
      expect(await store.write(t, [rec('k', now - 3 * DAY, ['old'])], 0)).toEqual({ written: 0, skipped: 1 });
      expect(await store.write(t, [rec('k', now - DAY, ['same again'])], 0)).toEqual({ written: 0, skipped: 1 });
      expect((await store.read([{ table: t, keys: ['k'] }]))[0]![0]!.values).toEqual(['new']);
      expect(await store.write(t, [rec('k', now - DAY, ['recomputed'], now)], 0)).toEqual({ written: 1, skipped: 0 });
      expect((await store.read([{ table: t, keys: ['k'] }]))[0]![0]!.values).toEqual(['recomputed']);
      // The event time decides first: an older event recomputed later is still older, whatever its created time.
      expect(await store.write(t, [rec('k', now - DAY - 1, ['older, created later'], now + DAY)], 0)).toEqual({
        written: 0,
        skipped: 1,
      });
      // And of one event time, an earlier created time does not win either.
      expect(await store.write(t, [rec('k', now - DAY, ['created earlier'], now - 1)], 0)).toEqual({
        written: 0,
        skipped: 1,
      });
      expect((await store.read([{ table: t, keys: ['k'] }]))[0]!.map(plain)).toEqual([
        { eventTs: now - DAY, createdTs: now, values: ['recomputed'] },
      ]);
    });

    it('keeps newer-wins across a write of many batches: new keys, newer and older values, odd keys', async (ctx) => {
      if (!store) return ctx.skip();
      const t = table();
      // More records than one script call takes, so several run concurrently; keys the JSON packing must carry intact.
      const odd = ['k"quote', 'k\\slash', 'k\nline', 'kéñ', 'k😀', 'k\ud800lone'];
      const keys = [...Array.from({ length: 700 }, (_, i) => `e${i}`), ...odd];
      await store.write(
        t,
        keys.filter((_, i) => i % 2 === 0).map((k) => rec(k, now - 2 * DAY, ['before'])),
        0,
      );
      // Odd positions are new; even positions get a newer value for every fourth key and an older one otherwise.
      const second = keys.map((k, i) =>
        i % 2 === 1
          ? rec(k, now - DAY, ['new'])
          : i % 4 === 0
            ? rec(k, now - DAY, ['newer'])
            : rec(k, now - 3 * DAY, ['older']),
      );
      const expected = second.filter((r) => r.values[0] !== 'older').length;
      expect(await store.write(t, second, DAY * 10)).toEqual({ written: expected, skipped: keys.length - expected });
      const [read] = await store.read([{ table: t, keys }]);
      expect(read!.map((r) => r?.values[0])).toEqual(
        keys.map((_, i) => (i % 2 === 1 ? 'new' : i % 4 === 0 ? 'newer' : 'before')),
      );
    });

    it('drops values once event time + expireAfter has passed', async (ctx) => {
      if (!store) return ctx.skip();
      const t = table();
      await store.write(t, [rec('fresh', now - 1000, [1]), rec('stale', now - 10 * DAY, [2])], 5 * DAY);
      const [r] = await store.read([{ table: t, keys: ['fresh', 'stale'] }]);
      expect(r!.map((x) => x?.values[0])).toEqual([1, undefined]);
    });

    it('reports keys and bytes per table and drops a table', async (ctx) => {
      if (!store) return ctx.skip();
      const t = table();
      await store.write(
        t,
        Array.from({ length: 1500 }, (_, i) => rec(`e${i}`, now, [i])),
        0,
      );
      const stat = (await store.stats()).find((s) => s.table === t);
      expect(stat?.keys).toBe(1500);
      expect(stat?.bytes).toBeGreaterThan(1500 * 26);
      await store.drop(t);
      expect((await store.stats()).find((s) => s.table === t)).toBeUndefined();
      expect((await store.read([{ table: t, keys: ['e1'] }]))[0]).toEqual([undefined]);
    });
  });
}

contract('sqlite (embedded)', async () => new SqliteOnlineStore(path.join(tempDir(), 'online.sqlite')));

let redis: Awaited<ReturnType<typeof redisForTests>>;
contract('redis', async () => {
  redis = await redisForTests();
  return (
    redis && new RedisOnlineStore({ url: redis.url, cluster: false, keyPrefix: `test:${randomUUID().slice(0, 8)}:` })
  );
});
afterAll(async () => redis?.stop());

let cluster: Awaited<ReturnType<typeof redisClusterForTests>>;
contract('redis cluster (3 masters, keys across slots)', async () => {
  cluster = await redisClusterForTests();
  return cluster && new RedisOnlineStore({ url: cluster.urls, cluster: true, keyPrefix: 'test:' });
});
afterAll(async () => cluster?.stop());

describe('embedded store across processes', () => {
  it('a server process sees what a materializer process writes, while it holds the file open', async () => {
    const file = path.join(tempDir(), 'online.sqlite');
    const reader = new SqliteOnlineStore(file);
    expect((await reader.read([{ table: 'v@v1', keys: ['a'] }]))[0]).toEqual([undefined]);
    const script =
      `import { SqliteOnlineStore } ` +
      `from ${JSON.stringify(path.resolve(import.meta.dirname, '../online/sqlite.ts'))};
      const s = new SqliteOnlineStore(${JSON.stringify(file)}); await s.write('v@v1', [{ key: 'a', eventTs: ${now},
        createdTs: ${now}, values: [7] }], 0); await s.close();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect((await reader.read([{ table: 'v@v1', keys: ['a'] }]))[0]![0]!.values).toEqual([7]);
    await reader.close();
  });
});

describe('how a store names itself', () => {
  it('keeps no credentials of any node of a list, with or without a scheme or a user', () => {
    const url = onlineStoreUrl({
      kind: 'redis',
      cluster: true,
      keyPrefix: 'mesh:',
      url:
        'redis://:first-secret@10.0.0.1:6379, redis://admin:second-secret@10.0.0.2:6379/0,' +
        'third-secret@10.0.0.3:6379',
    });
    expect(url).toBe('redis://10.0.0.1:6379,redis://10.0.0.2:6379/0,10.0.0.3:6379');
    expect(url).not.toMatch(/secret/);
    expect(onlineStoreUrl({ kind: 'redis', cluster: false, keyPrefix: 'm:', url: 'redis://127.0.0.1:6379/2' })).toBe(
      'redis://127.0.0.1:6379/2',
    );
  });
});
