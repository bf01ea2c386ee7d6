import { sqlIdent as id, sqlString } from '../../platform/index.js';
import { primaryKey, type ContractProperty, type QualityRule } from '../contracts/types.js';
import { EXPECTATIONS } from './expectations.js';
import { compareOperators } from './operators.js';
import type { Additive, Measure, QualityContext, QualityResult } from './types.js';

export type { QualityResult, QualityContext } from './types.js';
export { EXPECTATIONS } from './expectations.js';

type Outcome = Omit<
  QualityResult,
  'dataset' | 'rule' | 'kind' | 'severity' | 'blocking' | 'column' | 'dimension' | 'message'
>;

interface Counts {
  elements: number;
  unexpected: number;
}

interface Planned {
  name: string;
  column?: string;
  kind: QualityResult['kind'];
  severity: string;
  dimension?: string;
  evaluate: () => Promise<Outcome>;
  /** A count rule: its counts over any relation, how they combine over parts, and the outcome of given counts. */
  counts?: { of: (table: string) => Promise<Counts>; additive?: Additive; judge: (c: Counts) => Outcome };
}

/** Evaluates every rule a contract's dataset declares, implicit ones (required, unique, primary key) included. */
export async function evaluateQuality(ctx: QualityContext): Promise<QualityResult[]> {
  const plans = planRules(ctx);
  const out: QualityResult[] = [];
  for (const plan of plans) {
    let partial;
    try {
      partial = (ctx.change && (await incrementally(plan, ctx.object.name, ctx.change))) || (await plan.evaluate());
    } catch (err) {
      partial = { passed: false, observed: null, expected: 'rule evaluates', errorMessage: (err as Error).message };
    }
    const blocking = ctx.blockingSeverities.includes(plan.severity);
    const errorMessage = (partial as { errorMessage?: string }).errorMessage;
    const { passed, observed, expected, elementCount, unexpectedCount } = partial;
    out.push({
      dataset: ctx.object.name,
      column: plan.column,
      rule: plan.name,
      kind: plan.kind,
      dimension: plan.dimension,
      severity: plan.severity,
      blocking,
      passed,
      observed,
      expected,
      elementCount,
      unexpectedCount,
      message: errorMessage
        ? `${ctx.object.name}: rule "${plan.name}" could not be evaluated: ${errorMessage}`
        : `${ctx.object.name}${plan.column ? `.${plan.column}` : ''}: ${plan.name} ${passed ? 'passed' : 'FAILED'} ` +
          `(observed ${String(observed)}, expected ${expected})`,
    });
  }
  return out;
}

/**
 * A count rule's outcome from the previous version's counts and those of the rows removed and added since, when they
 * combine that way: per row, or per group of the columns it counts duplicates of when the dataset is recomputed by one
 * of them and the previous version had none (every such group is then wholly removed and added, or kept as it was).
 * Undefined when the rule must read the whole dataset.
 */
async function incrementally(
  plan: Planned,
  dataset: string,
  change: NonNullable<QualityContext['change']>,
): Promise<Outcome | undefined> {
  const additive = plan.counts?.additive;
  const before = change.previous.find((r) => r.dataset === dataset && r.rule === plan.name && r.column === plan.column);
  if (!plan.counts || !additive || before?.unexpectedCount === undefined) return undefined;
  if (additive !== 'rows' && 'partner' in additive) {
    // None before, and the partner changed only where this dataset was recomputed: rows kept have the partners they
    // had, and rows added are checked against the new partner.
    if (change.by !== additive.on || before.unexpectedCount !== 0) return undefined;
    if (!(await change.changedWithin?.(additive.partner))) return undefined;
    return plan.counts.judge(await plan.counts.of(change.added));
  }
  const grouped = additive !== 'rows';
  if (grouped && (!change.by || !additive.groups.includes(change.by) || before.unexpectedCount !== 0)) return undefined;
  const [removed, added] = [await plan.counts.of(change.removed), await plan.counts.of(change.added)];
  return plan.counts.judge({
    elements: (before.elementCount ?? 0) - removed.elements + added.elements,
    unexpected: grouped ? added.unexpected : before.unexpectedCount - removed.unexpected + added.unexpected,
  });
}

function planRules(ctx: QualityContext): Planned[] {
  const plans: Planned[] = [];
  for (const p of ctx.object.properties) {
    if (p.required)
      plans.push(
        fromMeasure(
          `${p.name} is required`,
          'implicit',
          'error',
          'completeness',
          p.name,
          (x) => EXPECTATIONS.expect_column_values_to_not_be_null!(x, { column: p.name }),
          ctx,
        ),
      );
    if (p.unique)
      plans.push(
        fromMeasure(
          `${p.name} is unique`,
          'implicit',
          'error',
          'uniqueness',
          p.name,
          (x) => EXPECTATIONS.expect_column_values_to_be_unique!(x, { column: p.name }),
          ctx,
        ),
      );
    for (const rule of p.quality ?? []) plans.push(planRule(rule, ctx, p));
  }
  const pk = primaryKey(ctx.object);
  if (pk.length > 0) {
    plans.push(
      fromMeasure(
        `primary key (${pk.join(', ')}) is unique`,
        'implicit',
        'error',
        'uniqueness',
        undefined,
        (x) => EXPECTATIONS.expect_compound_columns_to_be_unique!(x, { column_list: pk }),
        ctx,
      ),
    );
  }
  for (const rule of ctx.object.quality ?? []) plans.push(planRule(rule, ctx));
  return plans;
}

function planRule(rule: QualityRule, ctx: QualityContext, property?: ContractProperty): Planned {
  const t = ctx.table;
  const severity = rule.severity ?? 'error';
  const column = property?.name ?? (rule.arguments?.column as string | undefined);
  const type = rule.type ?? 'library';
  if (type === 'library') {
    const name = rule.name ?? `${rule.metric}${column ? ` of ${column}` : ''}`;
    return {
      name,
      column,
      kind: 'library',
      severity,
      dimension: rule.dimension,
      ...countRule(
        async (table) => {
          const { count, rows } = await ctx.duck.one<{ count: number; rows: number }>(librarySql(rule, table, column));
          return { elements: Number(rows), unexpected: Number(count) };
        },
        ({ elements, unexpected }) => {
          const observed = rule.unit === 'percent' ? (elements === 0 ? 0 : (100 * unexpected) / elements) : unexpected;
          const zero = { mustBe: 0 };
          return {
            ...compareOperators(observed, rule, rule.metric === 'rowCount' ? undefined : zero),
            observed,
            elementCount: elements,
            unexpectedCount: unexpected,
          };
        },
        ROW_METRICS.has(String(rule.metric)) ? 'rows' : undefined,
        ctx.table,
      ),
    };
  }
  if (type === 'sql') {
    const query = (table: string) =>
      String(rule.query)
        .replaceAll('${table}', table)
        .replaceAll('${column}', column ? id(column) : '${column}');
    return {
      name: rule.name ?? rule.description ?? 'sql rule',
      column,
      kind: 'sql',
      severity,
      dimension: rule.dimension,
      ...countRule(
        async (table) => ({ elements: 0, unexpected: Number(Object.values(await ctx.duck.one(query(table)))[0]) }),
        ({ unexpected }) => ({
          ...compareOperators(unexpected, rule),
          observed: unexpected,
          unexpectedCount: unexpected,
        }),
        rowLocal(String(rule.query)) ? 'rows' : orphans(String(rule.query)),
        ctx.table,
      ),
    };
  }
  if (type === 'custom' && typeof rule.implementation === 'object') {
    const impl = rule.implementation;
    const kwargs: Record<string, unknown> = { ...(column && property ? { column } : {}), ...impl.kwargs };
    if (rule.engine === 'great-expectations') {
      const make = EXPECTATIONS[impl.type];
      if (!make)
        throw new Error(
          `${ctx.object.name}: unknown Great Expectations expectation "${impl.type}" ` +
            `(known: ${Object.keys(EXPECTATIONS).join(', ')})`,
        );
      return fromMeasure(
        rule.name ?? impl.type,
        'great-expectations',
        severity,
        rule.dimension,
        kwargs.column as string | undefined,
        (x) => make(x, kwargs),
        ctx,
      );
    }
    if (rule.engine === 'mesh' && impl.type === 'freshness') {
      const maxAgeHours = Number(kwargs.max_age_hours);
      const columnName = String(kwargs.column);
      return {
        name: rule.name ?? `freshness of ${columnName}`,
        column: columnName,
        kind: 'mesh',
        severity,
        dimension: rule.dimension ?? 'timeliness',
        evaluate: async () => {
          const { age } = await ctx.duck.one<{ age: number | null }>(
            `SELECT date_diff('second', max(${id(columnName)})::TIMESTAMP,
              ${sqlString(ctx.asOf.toISOString())}::TIMESTAMPTZ::TIMESTAMP) / 3600.0 AS age FROM ${t}`,
          );
          const observed = age === null ? null : Math.round(Number(age) * 10) / 10;
          return {
            passed: observed !== null && observed <= maxAgeHours,
            observed,
            expected: `newest ${columnName} at most ${maxAgeHours} h before the extract`,
          };
        },
      };
    }
  }
  if (type === 'text') {
    return {
      name: rule.name ?? 'text rule',
      kind: 'library',
      severity: 'info',
      evaluate: async () => ({ passed: true, observed: null, expected: 'documentation only' }),
    };
  }
  throw new Error(`${ctx.object.name}: unsupported quality rule ${JSON.stringify(rule)}`);
}

function librarySql(rule: QualityRule, t: string, column: string | undefined): string {
  const c = column ? id(column) : undefined;
  const need = () => {
    if (!c) throw new Error(`metric ${rule.metric} needs a column (a property-level rule or arguments.column)`);
    return c;
  };
  switch (rule.metric) {
    case 'rowCount':
      return `SELECT count(*) AS count, count(*) AS rows FROM ${t}`;
    case 'nullValues':
      return `SELECT count(*) FILTER (WHERE ${need()} IS NULL) AS count, count(*) AS rows FROM ${t}`;
    case 'missingValues': {
      const missing = (rule.arguments?.missingValues as unknown[] | undefined) ?? [''];
      return `SELECT count(*) FILTER (WHERE ${need()} IS NULL OR CAST(${need()} AS VARCHAR) IN
        (${missing.map((v) => sqlString(String(v))).join(', ')})) AS count, count(*) AS rows FROM ${t}`;
    }
    case 'invalidValues': {
      const valid = rule.arguments?.validValues as unknown[] | undefined;
      const pattern = rule.arguments?.pattern as string | undefined;
      const bad = valid
        ? `NOT (CAST(${need()} AS VARCHAR) IN (${valid.map((v) => sqlString(String(v))).join(', ')}))`
        : pattern
          ? `NOT regexp_matches(CAST(${need()} AS VARCHAR), ${sqlString(pattern)})`
          : (() => {
              throw new Error('invalidValues needs arguments.validValues or arguments.pattern');
            })();
      return `SELECT count(*) FILTER (WHERE ${need()} IS NOT NULL AND ${bad}) AS count, count(*) AS rows FROM ${t}`;
    }
    case 'duplicateValues': {
      const cols = (rule.arguments?.properties as string[] | undefined)?.map(id).join(', ') ?? need();
      return `SELECT count(*) - count(DISTINCT (${cols})) AS count, count(*) AS rows FROM ${t}`;
    }
    default:
      throw new Error(`unknown ODCS library metric "${rule.metric}"`);
  }
}

function fromMeasure(
  name: string,
  kind: QualityResult['kind'],
  severity: string,
  dimension: string | undefined,
  column: string | undefined,
  measureOf: (table: string) => Measure,
  ctx: QualityContext,
): Planned {
  const measure = measureOf(ctx.table);
  const plan = { name, column, kind, severity, dimension };
  if (measure.kind === 'map') {
    return {
      ...plan,
      ...countRule(
        async (table) => {
          const { elements, unexpected } = await ctx.duck.one<{ elements: number; unexpected: number }>(
            measureOf(table).sql,
          );
          return { elements: Number(elements), unexpected: Number(unexpected) };
        },
        ({ elements: e, unexpected: u }) => {
          const ratio = e === 0 ? 1 : (e - u) / e;
          return {
            passed: ratio >= measure.mostly,
            observed: u,
            expected:
              measure.mostly < 1
                ? `at least ${measure.mostly * 100}% of ${e} values as expected`
                : `0 unexpected of ${e}`,
            elementCount: e,
            unexpectedCount: u,
          };
        },
        measure.additive,
        ctx.table,
      ),
    };
  }
  return {
    ...plan,
    evaluate: async () => {
      const { observed } = await ctx.duck.one<{ observed: unknown }>(measure.sql);
      const value =
        observed === null || observed === undefined ? null : typeof observed === 'number' ? observed : String(observed);
      return { ...measure.check(observed), observed: value };
    },
  };
}

/** A rule that counts: evaluated over the whole dataset, or combined from counts over what changed. */
function countRule(
  of: (table: string) => Promise<Counts>,
  judge: (c: Counts) => Outcome,
  additive: Additive | undefined,
  table: string,
): Pick<Planned, 'evaluate' | 'counts'> {
  return { evaluate: async () => judge(await of(table)), counts: { of, judge, ...(additive ? { additive } : {}) } };
}

/** ODCS library metrics that count rows by a predicate of each row alone. */
const ROW_METRICS = new Set(['rowCount', 'nullValues', 'missingValues', 'invalidValues']);

/**
 * Whether a SQL rule counts the rows of its dataset that match a predicate of each row alone (`SELECT count(*) FROM
 * ${table} [alias] WHERE …` with no query, join, window or other table in it): its count then adds up over any split.
 */
function rowLocal(query: string): boolean {
  const m =
    /^\s*SELECT\s+count\(\s*\*\s*\)\s+FROM\s+\$\{table\}(?:\s+(?:AS\s+)?\w+)?\s+WHERE\s+([\s\S]*?)\s*;?\s*$/i.exec(
      query,
    );
  return (
    m !== null &&
    !/\b(select|from|join|over|qualify|having|group|union|intersect|except|limit|window|using)\b|\$\{/i.test(m[1]!)
  );
}

/**
 * The partner of a SQL rule that counts the rows without a partner row (`SELECT count(*) FROM ${table} [alias] ANTI
 * JOIN curated.<dataset> [alias] USING (<column>)`), undefined for any other query.
 */
function orphans(query: string): Additive | undefined {
  const alias = String.raw`(?:\s+(?:AS\s+)?(?!ANTI\b|USING\b)\w+)?`;
  const m = new RegExp(
    String.raw`^\s*SELECT\s+count\(\s*\*\s*\)\s+FROM\s+\$\{table\}${alias}\s+ANTI\s+JOIN\s+curated\.(\w+)${alias}` +
      String.raw`\s+USING\s*\(\s*(\w+)\s*\)\s*;?\s*$`,
    'i',
  ).exec(query);
  return m ? { partner: m[1]!, on: m[2]! } : undefined;
}
