import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '../../platform/duckdb.js';
import { pointInTimeQuery } from '../offline/historical.js';
import { cellOf, readColumns } from '../server/onlineRead.js';
import type { OnlineRecord, OnlineStore } from '../online/types.js';
import type { ResolvedFeatures, ViewRequest, ViewVersion } from '../registry.js';

/**
 * A view's TTL and the point-in-time rule at the resolution times have, one second: a value is valid from its event
 * time (an entity at exactly that time sees it) until it is exactly TTL old, and stale a second later; offline (the
 * training set's join) and online (what serving withholds) agree.
 */
const T = Date.UTC(2026, 9, 1, 12, 0, 0);
const SEC = 1000;
const TTL = 3600;

const view = (ttlSeconds: number) =>
  ({
    name: 'v',
    version: 1,
    joinKeys: ['customer_id'],
    entities: ['customer'],
    ttlSeconds,
    features: [{ name: 'value', dtype: 'Int64' }],
  }) as ViewVersion;
const request = (ttlSeconds: number): ViewRequest => {
  const v = view(ttlSeconds);
  return { view: v, features: v.features, outputNames: ['v__value'] };
};
const literal = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;

describe('offline: the point-in-time join at one-second resolution', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await Duck.open();
    await duck.run(`SET TimeZone = 'UTC'`);
  });
  afterAll(() => duck.close());

  async function join(
    rows: { event: number; created: number; value: number }[],
    at: number[],
    ttl: number,
  ): Promise<(number | null)[]> {
    await duck.run(
      `CREATE OR REPLACE TABLE f (customer_id VARCHAR, event_timestamp TIMESTAMP, created_timestamp TIMESTAMP,
        value BIGINT)`,
    );
    if (rows.length)
      await duck.run(
        `INSERT INTO f VALUES ${rows.map((r) => `('c1', ${literal(r.event)}, ${literal(r.created)}, ${r.value})`)}`,
      );
    await duck.run(`CREATE OR REPLACE TABLE e (customer_id VARCHAR, event_timestamp TIMESTAMP, __mesh_row BIGINT)`);
    await duck.run(`INSERT INTO e VALUES ${at.map((t, i) => `('c1', ${literal(t)}, ${i})`).join(', ')}`);
    const query = pointInTimeQuery('e', [{ request: request(ttl), relation: 'f', rowId: 'rowid', unique: false }]);
    for (const statement of query.prepare) await duck.run(statement);
    return (await duck.all<{ v__value: string | null }>(query.select)).map((r) =>
      r.v__value === null ? null : Number(r.v__value),
    );
  }

  it('an entity at the event time sees it; at TTL - 1 s and at TTL still; at TTL + 1 s no longer', async () => {
    expect(
      await join(
        [{ event: T, created: T, value: 1 }],
        [T - SEC, T, T + (TTL - 1) * SEC, T + TTL * SEC, T + (TTL + 1) * SEC],
        TTL,
      ),
    ).toEqual([null, 1, 1, 1, null]);
  });

  it('a value a second newer wins from that second, and of two at the same second the later created', async () => {
    expect(
      await join(
        [
          { event: T, created: T, value: 1 },
          { event: T + SEC, created: T + SEC, value: 2 },
          { event: T + 2 * SEC, created: T + 2 * SEC, value: 3 },
          { event: T + 2 * SEC, created: T + 3 * SEC, value: 4 },
        ],
        [T, T + SEC - 1, T + SEC, T + 2 * SEC],
        TTL,
      ),
    ).toEqual([1, 1, 2, 4]);
  });

  it('against the rule by brute force, event and entity times and TTLs in seconds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.record({ event: fc.integer({ min: 0, max: 120 }), created: fc.integer({ min: 0, max: 2 }) }),
          {
            maxLength: 20,
            selector: (r) => `${r.event}|${r.created}`,
          },
        ),
        fc.array(fc.integer({ min: -5, max: 130 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom(0, 1, 59, 60, 61),
        async (rows, at, ttl) => {
          const features = rows.map((r, i) => ({ event: T + r.event * SEC, created: T + r.created * SEC, value: i }));
          const expected = at.map((a) => {
            const t = T + a * SEC;
            const valid = features
              .filter((f) => f.event <= t && (ttl === 0 || f.event >= t - ttl * SEC))
              .sort((x, y) => y.event - x.event || y.created - x.created);
            return valid[0]?.value ?? null;
          });
          expect(
            await join(
              features,
              at.map((a) => T + a * SEC),
              ttl,
            ),
          ).toEqual(expected);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('online: what serving withholds at one-second resolution', () => {
  const record: OnlineRecord = { eventTs: T, createdTs: T, values: [7] };
  const store = (r: OnlineRecord | undefined): OnlineStore =>
    ({
      read: async (requests: { keys: string[] }[]) => requests.map((q) => q.keys.map(() => r)),
    }) as unknown as OnlineStore;
  const resolved = (ttl: number): ResolvedFeatures => ({
    views: [request(ttl)],
    joinKeys: ['customer_id'],
    names: ['value'],
    order: [{ view: 0, feature: 0 }],
  });

  it('PRESENT when TTL - 1 s and TTL old, OUTSIDE_MAX_AGE at TTL + 1 s; at its own event time too', async () => {
    const statuses = await Promise.all(
      [0, TTL - 1, TTL, TTL + 1].map(async (age) => {
        const [column] = await readColumns(store(record), resolved(TTL), [{ customer_id: 'c1' }], T + age * SEC);
        return [column!.statuses[0], column!.values[0]];
      }),
    );
    expect(statuses).toEqual([
      ['PRESENT', 7],
      ['PRESENT', 7],
      ['PRESENT', 7],
      ['OUTSIDE_MAX_AGE', null],
    ]);
    // The single-cell path (GraphQL's) agrees.
    expect([TTL, TTL + 1].map((age) => cellOf(request(TTL), 0, record, T + age * SEC).status)).toEqual([
      'PRESENT',
      'OUTSIDE_MAX_AGE',
    ]);
    // Without a TTL nothing is ever stale.
    const [never] = await readColumns(store(record), resolved(0), [{ customer_id: 'c1' }], T + 10 * 365 * 86_400 * SEC);
    expect(never!.statuses).toEqual(['PRESENT']);
  });
});
