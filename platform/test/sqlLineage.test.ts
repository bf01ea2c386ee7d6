import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '../duckdb.js';
import { isMeshError } from '../errors.js';
import { sqlLineage, type StatementLineage } from '../sqlLineage.js';

let duck: Duck;
beforeAll(async () => {
  duck = await Duck.open();
});
afterAll(() => duck.close());

const TABLES = {
  t: ['id', 'a', 'b', 'c', 'ts', 'j', 'items'],
  u: ['id', 'x', 'y'],
  'src.events': ['event_id', 'kind', 'at', 'amount'],
};

/** Each column's own edges, and the dataset's, as `table.column TYPE` ("I SUBTYPE" for an INDIRECT one). */
async function lineage(sql: string, tables: Record<string, string[]> = TABLES) {
  const l: StatementLineage = await sqlLineage(duck, sql, tables);
  const show = (e: StatementLineage['dataset'][number]) =>
    `${e.table}.${e.column} ${e.type === 'DIRECT' ? '' : 'I '}${e.subtype}`;
  return {
    ...Object.fromEntries(l.columns.map((c) => [c.name, c.edges.map(show).sort()])),
    '*': l.dataset.map(show).sort(),
  };
}

async function refusal(sql: string): Promise<string> {
  const err = await sqlLineage(duck, sql, TABLES).catch((e: unknown) => e);
  expect(isMeshError(err, 'LINEAGE_UNDERIVABLE'), String(err)).toBe(true);
  return (err as Error).message;
}

describe('column lineage from DuckDB’s own parse of a statement', () => {
  it('bare is IDENTITY, computed TRANSFORMATION, aggregated AGGREGATION; the strongest wins', async () => {
    expect(
      await lineage(
        'WITH s AS (SELECT id, max(a) AS top FROM t GROUP BY id) ' +
          'SELECT id, top, top + 1 AS next, b FROM s JOIN t USING (id)',
      ),
    ).toEqual({
      id: ['t.id IDENTITY'],
      top: ['t.a AGGREGATION'],
      next: ['t.a AGGREGATION'],
      b: ['t.b IDENTITY'],
      // An inner join keeps the rows of both sides only where they match: s's grouping decides every row.
      '*': ['t.id I GROUP_BY', 't.id I JOIN'],
    });
  });

  it('follows aliases, subqueries, CTE column lists, * with EXCLUDE and REPLACE, and VALUES', async () => {
    expect(
      await lineage(
        `WITH r(k, v) AS (SELECT id, a FROM t), fx(code, rate) AS (VALUES ('x', 1.0))
         SELECT * EXCLUDE (code) REPLACE (v * rate AS v)
         FROM (SELECT k, v, b AS code FROM r, t) q JOIN fx USING (code)`,
      ),
    ).toMatchObject({ k: ['t.id IDENTITY'], v: ['t.a TRANSFORMATION'], rate: [], '*': ['t.b I JOIN'] });
  });

  it('WHERE, QUALIFY and a FILTER clause decide rows; equalities across a join are JOIN, the rest FILTER', async () => {
    expect(
      await lineage(
        `SELECT t.id, count(*) FILTER (WHERE t.c > 0) AS n, sum(u.x) AS total FROM t JOIN u ON u.id = t.id
           AND u.y < t.ts WHERE t.b IS NOT NULL GROUP BY t.id`,
      ),
    ).toEqual({
      id: ['t.id IDENTITY'],
      n: ['t.c I FILTER'],
      total: ['u.x AGGREGATION'],
      '*': ['t.b I FILTER', 't.id I GROUP_BY', 't.id I JOIN', 't.ts I FILTER', 'u.id I JOIN', 'u.y I FILTER'],
    });
    expect(
      await lineage('SELECT id, a FROM t QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts DESC) = 1'),
    ).toMatchObject({ '*': ['t.id I FILTER', 't.ts I FILTER'] });
  });

  it('windows, the row an arg_max takes, and CASE conditions are the column’s own INDIRECT inputs', async () => {
    expect(
      await lineage(
        `SELECT sum(a) OVER (PARTITION BY id ORDER BY ts) AS running, lag(b) OVER w AS previous,
           CASE WHEN c > 0 THEN a ELSE b END AS chosen FROM t WINDOW w AS (PARTITION BY id ORDER BY ts)`,
      ),
    ).toEqual({
      running: ['t.a AGGREGATION', 't.id I WINDOW', 't.ts I WINDOW'],
      previous: ['t.b TRANSFORMATION', 't.id I WINDOW', 't.ts I WINDOW'],
      chosen: ['t.a TRANSFORMATION', 't.b TRANSFORMATION', 't.c I CONDITIONAL'],
      '*': [],
    });
    expect(await lineage('SELECT id, arg_max(b, ts) AS latest FROM t GROUP BY id')).toMatchObject({
      latest: ['t.b AGGREGATION', 't.ts I SORT'],
    });
  });

  it('a JSON key, a struct field and a lambda over a list extend the path of what they read', async () => {
    expect(
      await lineage(
        `SELECT j->'customer'->>'email' AS email, (unnest(items)).sku AS sku, items[1].qty AS first,
           json_extract_string(j, '$.address.city') AS city, list_filter(items, i -> i.qty > 0) AS bought FROM t`,
      ),
    ).toEqual({
      email: ['t.j.customer.email TRANSFORMATION'],
      sku: ['t.items.sku TRANSFORMATION'],
      first: ['t.items.qty TRANSFORMATION'],
      city: ['t.j.address.city TRANSFORMATION'],
      bought: ['t.items TRANSFORMATION', 't.items.qty TRANSFORMATION'],
      '*': [],
    });
  });

  it('DISTINCT groups the rows by every output column', async () => {
    expect(await lineage('SELECT DISTINCT id, upper(b) AS b FROM t WHERE c > 0')).toEqual({
      id: ['t.id IDENTITY'],
      b: ['t.b TRANSFORMATION'],
      '*': ['t.b I GROUP_BY', 't.c I FILTER', 't.id I GROUP_BY'],
    });
  });

  it('a UNION is each branch’s column, rows from every branch; a scalar subquery is its column', async () => {
    expect(
      await lineage(
        `SELECT id, a AS v FROM t WHERE c > 0 UNION ALL SELECT id, x FROM u
         UNION ALL SELECT (SELECT max(id) FROM u), (SELECT min(ts) FROM t)`,
      ),
    ).toEqual({
      id: ['t.id IDENTITY', 'u.id AGGREGATION', 'u.id IDENTITY'],
      v: ['t.ts AGGREGATION', 'u.x IDENTITY', 't.a IDENTITY'].sort(),
      '*': ['t.c I FILTER'],
    });
  });

  it('a FULL join merges its USING column from both sides; an outer side’s filters stay with its columns', async () => {
    expect(
      await lineage(
        `SELECT id, t.a, v.x FROM t FULL JOIN u USING (id) LEFT JOIN (SELECT id, x FROM u WHERE y > 0) v USING (id)`,
      ),
    ).toEqual({
      id: ['t.id TRANSFORMATION', 'u.id TRANSFORMATION'],
      a: ['t.a IDENTITY'],
      x: ['u.x IDENTITY', 'u.y I FILTER'],
      '*': ['t.id I JOIN', 'u.id I JOIN'],
    });
  });

  it('refuses what it cannot follow, naming the construct and where it is, never guessing', async () => {
    expect(await refusal('SELECT * FROM read_parquet(a)')).toMatch(/TABLE_FUNCTION in FROM at "read_parquet/);
    expect(await refusal('SELECT a + 1 FROM t')).toMatch(/output column 1, computed without an alias/);
    expect(await refusal('SELECT nope FROM t')).toMatch(/the column nope, which no table in scope has at "nope/);
    expect(await refusal('SELECT * FROM elsewhere')).toMatch(/the table elsewhere, which is none of t, u, src.events/);
    expect(await refusal('SELECT id FROM t JOIN u USING (id) WHERE id > 0 AND x > a INTERSECT SELECT 1 AS id')).toMatch(
      /INTERSECT/,
    );
    expect(await refusal('SELECT DISTINCT ON (a) a, b FROM t')).toMatch(/DISTINCT_MODIFIER ON/);
    expect(await refusal('SELECT id FROM t, u')).toMatch(/the column id, which t and u both have/);
    expect(await refusal('UPDATE t SET a = 1')).toMatch(/not one SELECT statement/);
  });
});
