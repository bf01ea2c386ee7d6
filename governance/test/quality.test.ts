import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '../../platform/duckdb.js';
import { evaluateQuality } from '../quality/engine.js';
import type { ContractSchemaObject, QualityRule } from '../contracts/types.js';

let duck: Duck;
beforeAll(async () => {
  duck = await Duck.open();
  await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES
    ('a', 'ES', 10, TIMESTAMP '2026-10-31 20:00:00', TIMESTAMP '2026-10-31 21:00:00'),
    ('b', 'FR', 20, TIMESTAMP '2026-10-30 10:00:00', TIMESTAMP '2026-10-30 09:00:00'),
    ('c', NULL, 30, TIMESTAMP '2026-10-29 10:00:00', NULL),
    ('c', 'XX', -5, TIMESTAMP '2026-10-28 10:00:00', TIMESTAMP '2026-10-28 11:00:00')
  ) v(id, country, amount, "at", later)`);
});
afterAll(() => duck.close());

const asOf = new Date('2026-11-01T00:00:00Z');
const object = (props: Partial<ContractSchemaObject> = {}): ContractSchemaObject => ({
  name: 't',
  properties: [
    { name: 'id', logicalType: 'string' },
    { name: 'country', logicalType: 'string' },
    { name: 'amount', logicalType: 'integer' },
    { name: 'at', logicalType: 'timestamp' },
    { name: 'later', logicalType: 'timestamp' },
  ],
  ...props,
});

async function one(rule: QualityRule, column?: string) {
  const obj = object();
  if (column) obj.properties.find((p) => p.name === column)!.quality = [rule];
  else obj.quality = [rule];
  const results = await evaluateQuality({ duck, table: 't', object: obj, asOf, blockingSeverities: ['error'] });
  expect(results).toHaveLength(1);
  return results[0]!;
}

const ge = (type: string, kwargs: Record<string, unknown>, severity = 'error'): QualityRule => ({
  type: 'custom',
  engine: 'great-expectations',
  implementation: { type, kwargs },
  severity,
});

describe('quality engine', () => {
  it('derives blocking rules from required, unique and primary key properties', async () => {
    const obj = object();
    obj.properties[0] = {
      name: 'id',
      logicalType: 'string',
      primaryKey: true,
      primaryKeyPosition: 1,
      required: true,
      unique: true,
    };
    obj.properties[1] = { name: 'country', logicalType: 'string', required: true };
    const results = await evaluateQuality({ duck, table: 't', object: obj, asOf, blockingSeverities: ['error'] });
    const byRule = Object.fromEntries(results.map((r) => [r.rule, r]));
    expect(byRule['id is required']!.passed).toBe(true);
    expect(byRule['id is unique']).toMatchObject({ passed: false, unexpectedCount: 2, blocking: true });
    expect(byRule['primary key (id) is unique']!.passed).toBe(false);
    expect(byRule['country is required']).toMatchObject({ passed: false, unexpectedCount: 1 });
  });

  it('ODCS library metrics with operators and units', async () => {
    expect((await one({ type: 'library', metric: 'rowCount', mustBeGreaterThan: 3 })).passed).toBe(true);
    expect((await one({ type: 'library', metric: 'rowCount', mustBeGreaterThan: 4 })).passed).toBe(false);
    expect(await one({ type: 'library', metric: 'nullValues', mustBe: 0 }, 'country')).toMatchObject({
      passed: false,
      observed: 1,
    });
    expect(
      await one({ type: 'library', metric: 'nullValues', unit: 'percent', mustBeLessOrEqualTo: 25 }, 'country'),
    ).toMatchObject({ passed: true, observed: 25 });
    expect(
      await one({ type: 'library', metric: 'invalidValues', arguments: { validValues: ['ES', 'FR'] } }, 'country'),
    ).toMatchObject({ passed: false, observed: 1 });
    expect(
      await one({ type: 'library', metric: 'invalidValues', arguments: { pattern: '^[A-Z]{2}$' } }, 'country'),
    ).toMatchObject({ passed: true });
    expect(await one({ type: 'library', metric: 'duplicateValues', mustBeLessThan: 2 }, 'id')).toMatchObject({
      passed: true,
      observed: 1,
    });
    expect(
      await one(
        { type: 'library', metric: 'missingValues', arguments: { missingValues: ['XX'] }, mustBeBetween: [0, 1] },
        'country',
      ),
    ).toMatchObject({ passed: false, observed: 2 });
  });

  it('ODCS sql rules with ${table} and ${column}', async () => {
    expect(
      await one({ type: 'sql', query: 'SELECT count(*) FROM ${table} WHERE ${column} < 0', mustBe: 0 }, 'amount'),
    ).toMatchObject({ passed: false, observed: 1 });
    expect(await one({ type: 'sql', query: 'SELECT max(amount) FROM ${table}', mustBeLessThan: 100 })).toMatchObject({
      passed: true,
      observed: 30,
    });
  });

  it('Great Expectations map expectations honour mostly', async () => {
    expect(
      (await one(ge('expect_column_values_to_be_between', { min_value: 0, max_value: 100 }), 'amount')).passed,
    ).toBe(false);
    expect(
      (await one(ge('expect_column_values_to_be_between', { min_value: 0, max_value: 100, mostly: 0.75 }), 'amount'))
        .passed,
    ).toBe(true);
    expect(
      (await one(ge('expect_column_values_to_be_in_set', { value_set: ['ES', 'FR', 'XX'] }), 'country')).passed,
    ).toBe(true);
    expect((await one(ge('expect_column_values_to_not_be_in_set', { value_set: ['XX'] }), 'country')).passed).toBe(
      false,
    );
    expect((await one(ge('expect_column_values_to_match_regex', { regex: '^[a-c]$' }), 'id')).passed).toBe(true);
    expect((await one(ge('expect_column_values_to_not_match_regex', { regex: '^c' }), 'id')).passed).toBe(false);
    expect((await one(ge('expect_column_value_lengths_to_be_between', { min_value: 2 }), 'country')).passed).toBe(true);
    expect((await one(ge('expect_column_values_to_not_be_null', {}), 'country')).passed).toBe(false);
    expect((await one(ge('expect_column_values_to_be_unique', {}), 'country')).passed).toBe(true);
    expect((await one(ge('expect_compound_columns_to_be_unique', { column_list: ['id', 'country'] }))).passed).toBe(
      true,
    );
    expect(
      (await one(ge('expect_column_pair_values_a_to_be_greater_than_b', { column_A: 'later', column_B: 'at' }))).passed,
    ).toBe(false);
    expect((await one(ge('expect_column_values_to_be_of_type', { type_: 'INTEGER' }), 'amount')).passed).toBe(true);
  });

  it('Great Expectations aggregate expectations', async () => {
    expect((await one(ge('expect_table_row_count_to_equal', { value: 4 }))).passed).toBe(true);
    expect((await one(ge('expect_table_row_count_to_be_between', { min_value: 5 }))).passed).toBe(false);
    expect((await one(ge('expect_column_mean_to_be_between', { min_value: 10, max_value: 20 }), 'amount')).passed).toBe(
      true,
    );
    expect((await one(ge('expect_column_min_to_be_between', { min_value: 0 }), 'amount')).passed).toBe(false);
    expect((await one(ge('expect_column_max_to_be_between', { max_value: '2026-11-01T00:00:00Z' }), 'at')).passed).toBe(
      true,
    );
    expect(
      (await one(ge('expect_column_unique_value_count_to_be_between', { min_value: 3, max_value: 3 }), 'id')).passed,
    ).toBe(true);
    expect(
      (await one(ge('expect_column_proportion_of_unique_values_to_be_between', { min_value: 1 }), 'id')).passed,
    ).toBe(false);
    expect(
      (await one(ge('expect_column_distinct_values_to_be_in_set', { value_set: ['ES', 'FR'] }), 'country')).passed,
    ).toBe(false);
    expect((await one(ge('expect_column_to_exist', { column: 'nope' }))).passed).toBe(false);
    expect(
      (await one(ge('expect_table_columns_to_match_set', { column_set: ['id', 'country', 'amount', 'at', 'later'] })))
        .passed,
    ).toBe(true);
    expect(
      (await one(ge('expect_table_columns_to_match_ordered_list', { column_list: ['country', 'id'] }))).passed,
    ).toBe(false);
  });

  it('freshness against the extract time, and warnings do not block', async () => {
    const fresh = {
      type: 'custom',
      engine: 'mesh',
      implementation: { type: 'freshness', kwargs: { column: 'at', max_age_hours: 6 } },
    } as QualityRule;
    expect(await one(fresh)).toMatchObject({ passed: true, observed: 4 });
    const stale = {
      ...fresh,
      severity: 'warning',
      implementation: { type: 'freshness', kwargs: { column: 'at', max_age_hours: 2 } },
    } as QualityRule;
    expect(await one(stale)).toMatchObject({ passed: false, blocking: false });
  });

  it('a rule that cannot run fails with the reason instead of passing', async () => {
    const r = await one({ type: 'sql', query: 'SELECT count(*) FROM no_such_table', mustBe: 0 });
    expect(r.passed).toBe(false);
    expect(r.message).toMatch(/could not be evaluated.*no_such_table/);
    await expect(one(ge('expect_something_unheard_of', {}))).rejects.toThrow(/unknown Great Expectations expectation/);
  });

  it('rules that add up are checked on what changed, judged as if on the whole; the others read it', async () => {
    // A dataset recomputed by `id`, its rows in files; a run replaces the files holding the ids it recomputes.
    const obj: ContractSchemaObject = {
      name: 'lines',
      properties: [
        { name: 'id', logicalType: 'string', primaryKey: true, primaryKeyPosition: 1 },
        { name: 'line', logicalType: 'integer', primaryKey: true, primaryKeyPosition: 2, unique: true },
        {
          name: 'country',
          logicalType: 'string',
          required: true,
          quality: [
            { type: 'library', metric: 'invalidValues', arguments: { validValues: ['ES', 'FR'] }, mustBe: 0 },
            { type: 'library', metric: 'nullValues', unit: 'percent', mustBeLessThan: 30 },
            ge('expect_column_values_to_be_in_set', { value_set: ['ES', 'FR', 'DE'], mostly: 0.8 }),
          ],
        },
        {
          name: 'amount',
          logicalType: 'integer',
          quality: [
            ge('expect_column_values_to_be_between', { min_value: 0, max_value: 50, mostly: 0.9 }),
            {
              type: 'sql',
              name: 'no negative amount',
              query: 'SELECT count(*) FROM ${table} x WHERE amount < 0',
              mustBe: 0,
            },
            ge('expect_column_mean_to_be_between', { min_value: 0, max_value: 40 }),
          ],
        },
      ],
      quality: [
        { type: 'library', metric: 'rowCount', mustBeGreaterThan: 0 },
        { type: 'library', metric: 'duplicateValues', arguments: { properties: ['country', 'amount'] }, mustBe: 0 },
        {
          type: 'sql',
          name: 'every line has a head',
          query: 'SELECT count(*) FROM ${table} l ANTI JOIN curated.heads h USING (id)',
          mustBe: 0,
        },
        {
          type: 'sql',
          name: 'no amount above twice the mean',
          query: 'SELECT count(*) FROM ${table} WHERE amount > 2 * (SELECT avg(amount) FROM ${table})',
          mustBe: 0,
        },
      ],
    };
    const WHOLE = new Set([
      'line is unique',
      'expect_column_mean_to_be_between',
      'duplicateValues',
      'no amount above twice the mean',
    ]);
    const row = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      line: fc.integer({ min: 1, max: 4 }),
      country: fc.constantFrom('ES', 'FR', 'DE', 'XX', null),
      amount: fc.integer({ min: -5, max: 60 }),
      file: fc.integer({ min: 0, max: 3 }),
    });
    type Row = { id: string; line: number; country: string | null; amount: number; file: number };
    const values = (rows: Row[]) =>
      rows.length === 0
        ? 'SELECT NULL::VARCHAR AS id, NULL::INTEGER AS line, NULL::VARCHAR AS country, NULL::INTEGER AS amount LIMIT 0'
        : `SELECT * FROM (VALUES ${rows
            .map((r) => `('${r.id}', ${r.line}, ${r.country === null ? 'NULL' : `'${r.country}'`}, ${r.amount})`)
            .join(', ')}) v(id, line, country, amount)`;
    const check = (table: string, change?: Parameters<typeof evaluateQuality>[0]['change']) =>
      evaluateQuality({ duck, table, object: obj, asOf, blockingSeverities: ['error'], ...(change ? { change } : {}) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 25 }),
        fc.subarray(['a', 'b', 'c', 'd', 'e', 'f']),
        fc.array(row, { maxLength: 10 }),
        // Another dataset's ids (the heads lines belong to): before, after for the ids recomputed, and ids whose head
        // came or went elsewhere.
        fc.subarray(['a', 'b', 'c', 'd', 'e', 'f']),
        fc.subarray(['a', 'b', 'c', 'd', 'e', 'f']),
        fc.subarray(['a', 'b', 'c', 'd', 'e', 'f'], { maxLength: 2 }),
        async (old, affected, recomputed, headsBefore, headsRecomputed, flipped) => {
          const holding = new Set(old.filter((r) => affected.includes(r.id)).map((r) => r.file));
          const removed = old.filter((r) => holding.has(r.file));
          const added = [
            ...removed.filter((r) => !affected.includes(r.id)),
            ...recomputed.filter((r) => affected.includes(r.id)),
          ];
          const now = [...old.filter((r) => !holding.has(r.file)), ...added];
          await duck.run(`CREATE OR REPLACE TABLE q_old AS ${values(old)}`);
          await duck.run(`CREATE OR REPLACE TABLE q_now AS ${values(now)}`);
          await duck.run(`CREATE OR REPLACE TABLE q_added AS ${values(added)}`);
          await duck.run(`CREATE OR REPLACE TABLE q_removed AS ${values(removed)}`);
          // Reading the whole dataset fails here (its view names a table gone): only what adds up can be evaluated.
          await duck.run(`CREATE OR REPLACE TABLE q_whole AS SELECT * FROM q_now`);
          await duck.run(`CREATE OR REPLACE VIEW q_sealed AS SELECT * FROM q_whole`);
          await duck.run(`DROP TABLE q_whole`);
          const strayed = flipped.filter((h) => !affected.includes(h));
          const headsAfter = ['a', 'b', 'c', 'd', 'e', 'f'].filter((h) =>
            affected.includes(h) ? headsRecomputed.includes(h) : headsBefore.includes(h) !== strayed.includes(h),
          );
          const list = (ids: string[]) => `${JSON.stringify(ids).replaceAll('"', "'")}::VARCHAR[]`;
          const heads = (ids: string[]) => `CREATE OR REPLACE TABLE curated.heads AS SELECT unnest(${list(ids)}) AS id`;
          await duck.run('CREATE SCHEMA IF NOT EXISTS curated');
          await duck.run(heads(headsBefore));
          const previous = await check('q_old');
          await duck.run(heads(headsAfter));
          const changedWithin = async (d: string) => d === 'heads' && strayed.length === 0;
          const change = { added: 'q_added', removed: 'q_removed', by: 'id', previous, changedWithin };
          expect(await check('q_now', change)).toEqual(await check('q_now'));
          const clean = (rule: string) => previous.find((r) => r.rule === rule)!.unexpectedCount === 0;
          const pkClean = clean('primary key (id, line) is unique');
          const headsKept = clean('every line has a head') && strayed.length === 0;
          const unread = (await check('q_sealed', change)).filter((r) => r.message.includes('q_whole'));
          expect(new Set(unread.map((r) => r.rule))).toEqual(
            new Set([
              ...WHOLE,
              ...(pkClean ? [] : ['primary key (id, line) is unique']),
              ...(headsKept ? [] : ['every line has a head']),
            ]),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
