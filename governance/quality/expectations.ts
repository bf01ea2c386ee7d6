import { sqlIdent as id, sqlString } from '../../platform/index.js';
import { checkBounds } from './operators.js';
import type { Additive, Measure } from './types.js';

type Kwargs = Record<string, unknown>;

/**
 * The Great Expectations 1.x core expectations, evaluated as DuckDB SQL over `t`.
 * Map expectations skip nulls (as GE does) except the null-checks themselves.
 */
export const EXPECTATIONS: Record<string, (t: string, kw: Kwargs) => Measure> = {
  expect_column_values_to_not_be_null: (t, kw) =>
    map(`SELECT count(*) AS elements, count(*) FILTER (WHERE ${col(kw)} IS NULL) AS unexpected FROM ${t}`, kw, 'rows'),
  expect_column_values_to_be_null: (t, kw) =>
    map(`SELECT count(*) AS elements, count(${col(kw)}) AS unexpected FROM ${t}`, kw, 'rows'),
  expect_column_values_to_be_unique: (t, kw) =>
    map(
      `SELECT count(${col(kw)}) AS elements, coalesce(sum(n) FILTER (WHERE n > 1), 0) AS unexpected FROM
        (SELECT ${col(kw)}, count(*) AS n FROM ${t} WHERE ${col(kw)} IS NOT NULL GROUP BY 1)`,
      kw,
      { groups: [String(kw.column)] },
    ),
  expect_compound_columns_to_be_unique: (t, kw) => {
    const cols = (kw.column_list as string[]).map(id).join(', ');
    return map(
      `SELECT count(*) AS elements, coalesce(sum(n) FILTER (WHERE n > 1), 0) AS unexpected FROM (SELECT ${cols},
        count(*) AS n FROM ${t} GROUP BY ALL)`,
      kw,
      { groups: kw.column_list as string[] },
    );
  },
  expect_column_values_to_be_in_set: (t, kw) => nonNull(t, kw, `NOT (${col(kw)} IN (${values(kw.value_set)}))`),
  expect_column_values_to_not_be_in_set: (t, kw) => nonNull(t, kw, `${col(kw)} IN (${values(kw.value_set)})`),
  expect_column_values_to_be_between: (t, kw) => nonNull(t, kw, `NOT (${boundsSql(col(kw), kw)})`),
  expect_column_value_lengths_to_be_between: (t, kw) =>
    nonNull(t, kw, `NOT (${boundsSql(`length(CAST(${col(kw)} AS VARCHAR))`, kw)})`),
  expect_column_values_to_match_regex: (t, kw) =>
    nonNull(t, kw, `NOT regexp_matches(CAST(${col(kw)} AS VARCHAR), ${sqlString(String(kw.regex))})`),
  expect_column_values_to_not_match_regex: (t, kw) =>
    nonNull(t, kw, `regexp_matches(CAST(${col(kw)} AS VARCHAR), ${sqlString(String(kw.regex))})`),
  expect_column_values_to_be_of_type: (t, kw) =>
    nonNull(t, kw, `upper(typeof(${col(kw)})) <> upper(${sqlString(String(kw.type_))})`),
  expect_column_values_to_be_in_type_list: (t, kw) =>
    nonNull(
      t,
      kw,
      `NOT (upper(typeof(${col(kw)})) IN ` +
        `(${(kw.type_list as string[]).map((s) => sqlString(s.toUpperCase())).join(', ')}))`,
    ),
  expect_column_pair_values_a_to_be_greater_than_b: (t, kw) => {
    const [a, b] = [id(String(kw.column_A)), id(String(kw.column_B))];
    return map(
      `SELECT count(*) AS elements, count(*) FILTER (WHERE NOT (${a} ${kw.or_equal ? '>=' : '>'} ${b})) AS unexpected
        FROM ${t} WHERE ${a} IS NOT NULL AND ${b} IS NOT NULL`,
      kw,
      'rows',
    );
  },
  expect_column_to_exist: (t, kw) =>
    agg(
      `SELECT count(*) AS observed FROM (DESCRIBE ${t}) WHERE column_name = ${sqlString(String(kw.column))}`,
      (o) => ({ passed: Number(o) === 1, expected: 'column exists' }),
    ),
  expect_table_row_count_to_be_between: (t, kw) =>
    agg(`SELECT count(*) AS observed FROM ${t}`, (o) => checkBounds(o, kw)),
  expect_table_row_count_to_equal: (t, kw) =>
    agg(`SELECT count(*) AS observed FROM ${t}`, (o) => ({
      passed: Number(o) === Number(kw.value),
      expected: `= ${String(kw.value)}`,
    })),
  expect_column_min_to_be_between: (t, kw) =>
    agg(`SELECT CAST(min(${col(kw)}) AS VARCHAR) AS observed FROM ${t}`, (o) => checkBounds(o, kw)),
  expect_column_max_to_be_between: (t, kw) =>
    agg(`SELECT CAST(max(${col(kw)}) AS VARCHAR) AS observed FROM ${t}`, (o) => checkBounds(o, kw)),
  expect_column_mean_to_be_between: (t, kw) =>
    agg(`SELECT avg(${col(kw)}) AS observed FROM ${t}`, (o) => checkBounds(o, kw)),
  expect_column_unique_value_count_to_be_between: (t, kw) =>
    agg(`SELECT count(DISTINCT ${col(kw)}) AS observed FROM ${t}`, (o) => checkBounds(o, kw)),
  expect_column_proportion_of_unique_values_to_be_between: (t, kw) =>
    agg(`SELECT count(DISTINCT ${col(kw)}) / greatest(count(${col(kw)}), 1) AS observed FROM ${t}`, (o) =>
      checkBounds(o, kw),
    ),
  expect_column_distinct_values_to_be_in_set: (t, kw) =>
    agg(
      `SELECT count(DISTINCT ${col(kw)}) FILTER (WHERE NOT (${col(kw)} IN (${values(kw.value_set)}))) AS observed
        FROM ${t}`,
      (o) => ({ passed: Number(o) === 0, expected: 'no value outside the set' }),
    ),
  expect_table_columns_to_match_set: (t, kw) =>
    agg(`SELECT string_agg(column_name, ',' ORDER BY column_name) AS observed FROM (DESCRIBE ${t})`, (o) => {
      const actual = new Set(String(o).split(','));
      const want = new Set(kw.column_set as string[]);
      const missing = [...want].filter((c) => !actual.has(c));
      const extra = [...actual].filter((c) => !want.has(c));
      return {
        passed: missing.length === 0 && (kw.exact_match === false || extra.length === 0),
        expected: `columns ${[...want].sort().join(',')}`,
      };
    }),
  expect_table_columns_to_match_ordered_list: (t, kw) =>
    agg(`SELECT string_agg(column_name, ',') AS observed FROM (DESCRIBE ${t})`, (o) => ({
      passed: String(o) === (kw.column_list as string[]).join(','),
      expected: (kw.column_list as string[]).join(','),
    })),
};

const col = (kw: Kwargs) => id(String(kw.column));

function map(sql: string, kw: Kwargs, additive?: Additive): Measure {
  return { kind: 'map', sql, mostly: typeof kw.mostly === 'number' ? kw.mostly : 1, ...(additive ? { additive } : {}) };
}

function agg(sql: string, check: (observed: unknown) => { passed: boolean; expected: string }): Measure {
  return { kind: 'aggregate', sql, check };
}

function nonNull(t: string, kw: Kwargs, unexpected: string): Measure {
  return map(
    `SELECT count(*) AS elements, count(*) FILTER (WHERE ${unexpected}) AS unexpected FROM ${t} WHERE ${col(kw)} IS
      NOT NULL`,
    kw,
    'rows',
  );
}

function values(set: unknown): string {
  return (set as unknown[])
    .map((v) => (typeof v === 'number' ? String(v) : typeof v === 'boolean' ? String(v) : sqlString(String(v))))
    .join(', ');
}

function literal(v: unknown): string {
  return typeof v === 'number' ? String(v) : sqlString(String(v));
}

function boundsSql(expr: string, kw: Kwargs): string {
  const parts: string[] = [];
  if (kw.min_value !== undefined && kw.min_value !== null)
    parts.push(`${expr} ${kw.strict_min ? '>' : '>='} ${literal(kw.min_value)}`);
  if (kw.max_value !== undefined && kw.max_value !== null)
    parts.push(`${expr} ${kw.strict_max ? '<' : '<='} ${literal(kw.max_value)}`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}
