import { sqlIdent as id, sqlString } from '../../platform/index.js';
import { primaryKey, type ContractProperty, type QualityRule } from '../contracts/types.js';
import { EXPECTATIONS } from './expectations.js';
import { compareOperators } from './operators.js';
import type { Measure, QualityContext, QualityResult } from './types.js';

export type { QualityResult, QualityContext } from './types.js';
export { EXPECTATIONS } from './expectations.js';

interface Planned {
  name: string;
  column?: string;
  kind: QualityResult['kind'];
  severity: string;
  dimension?: string;
  evaluate: () => Promise<
    Omit<QualityResult, 'dataset' | 'rule' | 'kind' | 'severity' | 'blocking' | 'column' | 'dimension' | 'message'>
  >;
}

/** Evaluates every rule a contract's dataset declares, implicit ones (required, unique, primary key) included. */
export async function evaluateQuality(ctx: QualityContext): Promise<QualityResult[]> {
  const plans = planRules(ctx);
  const out: QualityResult[] = [];
  for (const plan of plans) {
    let partial;
    try {
      partial = await plan.evaluate();
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

function planRules(ctx: QualityContext): Planned[] {
  const t = ctx.table;
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
          EXPECTATIONS.expect_column_values_to_not_be_null!(t, { column: p.name }),
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
          EXPECTATIONS.expect_column_values_to_be_unique!(t, { column: p.name }),
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
        EXPECTATIONS.expect_compound_columns_to_be_unique!(t, { column_list: pk }),
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
      evaluate: async () => {
        const { count, rows } = await ctx.duck.one<{ count: number; rows: number }>(librarySql(rule, t, column));
        const observed =
          rule.unit === 'percent' ? (rows === 0 ? 0 : (100 * Number(count)) / Number(rows)) : Number(count);
        const zero = { mustBe: 0 };
        return {
          ...compareOperators(observed, rule, rule.metric === 'rowCount' ? undefined : zero),
          observed,
          elementCount: Number(rows),
        };
      },
    };
  }
  if (type === 'sql') {
    const query = String(rule.query)
      .replaceAll('${table}', t)
      .replaceAll('${column}', column ? id(column) : '${column}');
    return {
      name: rule.name ?? rule.description ?? 'sql rule',
      column,
      kind: 'sql',
      severity,
      dimension: rule.dimension,
      evaluate: async () => {
        const row = await ctx.duck.one(query);
        const observed = Number(Object.values(row)[0]);
        return { ...compareOperators(observed, rule), observed };
      },
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
        make(t, kwargs),
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
  measure: Measure,
  ctx: QualityContext,
): Planned {
  return {
    name,
    column,
    kind,
    severity,
    dimension,
    evaluate: async () => {
      if (measure.kind === 'map') {
        const { elements, unexpected } = await ctx.duck.one<{ elements: number; unexpected: number }>(measure.sql);
        const e = Number(elements);
        const u = Number(unexpected);
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
      }
      const { observed } = await ctx.duck.one<{ observed: unknown }>(measure.sql);
      const value =
        observed === null || observed === undefined ? null : typeof observed === 'number' ? observed : String(observed);
      return { ...measure.check(observed), observed: value };
    },
  };
}
