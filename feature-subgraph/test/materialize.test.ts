import path from 'node:path';
import { expect, it } from 'vitest';
import { Duck } from '../../platform/duckdb.js';
import type { LoadedDefinitions } from '../definitions.js';
import { emptyRegistry, plan, saveRegistry, tableId } from '../registry.js';
import { publishOfflineTable } from '../offline/compute.js';
import { materialize } from '../materialize.js';
import { entityKey } from '../online/codec.js';
import { SqliteOnlineStore } from '../online/index.js';
import { testPlatform } from '../../platform/test/helpers.js';

const HOUR = 3_600_000;
const END = new Date('2026-11-01T00:00:00Z');
// More entities than materialization writes in one batch (10,000), so batches overlap and the last is partial.
const CUSTOMERS = 4_000;
const STORES = 3;

const defs: LoadedDefinitions = {
  entities: [
    { name: 'customer', joinKeys: ['customer_id'], domain: 'test' },
    { name: 'store', joinKeys: ['store_id'], domain: 'test' },
  ],
  views: [
    {
      name: 'basket',
      domain: 'test',
      entities: ['customer', 'store'],
      joinKeys: ['customer_id', 'store_id'],
      ttl: '30d',
      ttlSeconds: 30 * 86_400,
      owner: 'test',
      description: 'two join keys and values that JSON must escape',
      features: [
        { name: 'spend', dtype: 'Float64' },
        { name: 'note', dtype: 'String' },
        { name: 'visits', dtype: 'Int64' },
      ],
      sql: 'SELECT 1',
      sqlFile: '-',
    },
  ],
  services: [],
};

it(
  'writes the latest row of every entity online, keys and values intact, from the kept latest rows and from the ' +
    'whole table',
  async () => {
    const platform = testPlatform();
    const registry = plan(emptyRegistry(), defs).next;
    await saveRegistry(platform, registry);
    const view = registry.views.basket![0]!;
    const duck = await Duck.open();
    // Three days per entity, the newest not always last written; values with newlines, quotes, NaN and nulls.
    await duck.run(`CREATE TABLE offline AS
    SELECT 'c-' || c AS customer_id, s AS store_id, TIMESTAMP '2026-11-01' - INTERVAL (d * 7 + c % 5) HOUR AS
      event_timestamp,
      TIMESTAMP '2026-11-01 00:00:00' AS created_timestamp,
      CASE WHEN c % 97 = 0 THEN 'nan'::DOUBLE WHEN c % 89 = 0 THEN NULL ELSE (c * 31 + s * 7 + d) / 8.0 END AS spend,
      CASE WHEN c % 3 = 0 THEN 'line' || chr(10) || 'break "' || c || '"' WHEN c % 3 = 1 THEN 'é😀' || d ELSE NULL END
        AS note,
      (c * 1000 + s * 10 + d)::BIGINT AS visits
    FROM range(${CUSTOMERS}) a(c), range(${STORES}) b(s), range(3) t(d) ORDER BY random()`);
    await publishOfflineTable(duck, platform, view, 'offline', {
      createdAt: END.toISOString(),
      inputs: [],
      rejected: 0,
      started: Date.now(),
    });
    const latestUpTo = (end: Date) =>
      duck.all<{
        customer_id: string;
        store_id: number;
        spend: number | 'NaN' | null;
        note: string | null;
        visits: string;
        at: string;
      }>(
        `SELECT customer_id, store_id, arg_max(spend, event_timestamp) AS spend, arg_max(note, event_timestamp) AS note,
        arg_max(visits, event_timestamp) AS visits,
         max(event_timestamp)::VARCHAR AS at
       FROM offline WHERE event_timestamp <= TIMESTAMP '${end.toISOString().slice(0, 19)}' GROUP BY ALL ORDER BY ALL`,
      );

    // END reaches the newest event, so the latest rows kept beside the table answer; two hours earlier, a fifth of the
    // entities' newest rows lie past the window and the latest rows are aggregated from the whole table.
    for (const end of [END, new Date(END.getTime() - 2 * HOUR)]) {
      const latest = await latestUpTo(end);
      expect(latest.length).toBe(CUSTOMERS * STORES);
      const online = new SqliteOnlineStore(path.join(platform.config.dataDir, `online-${end.getTime()}.sqlite`));
      const [report] = await materialize(platform, online, { start: new Date(0), end });
      const [got] = await online.read([
        { table: tableId(view), keys: latest.map((r) => entityKey([r.customer_id, r.store_id])) },
      ]);
      await online.close();
      expect([report!.rows, report!.written]).toEqual([latest.length, latest.length]);
      expect(got!.map((r) => r && { eventTs: r.eventTs, values: r.values })).toEqual(
        latest.map((r) => ({
          eventTs: Date.parse(`${r.at.replace(' ', 'T')}Z`),
          values: [r.spend === 'NaN' ? null : r.spend, r.note, Number(r.visits)],
        })),
      );
    }
    duck.close();
  },
);
