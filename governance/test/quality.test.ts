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
});
