import { sqlString, type Duck } from './duckdb.js';
import { ErrorCode, MeshError } from './errors.js';

/** How an input column reaches an output column: OpenLineage's column-lineage transformation types. */
export type ColumnTransformation =
  | { type: 'DIRECT'; subtype: 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION' }
  | { type: 'INDIRECT'; subtype: 'JOIN' | 'GROUP_BY' | 'FILTER' | 'SORT' | 'WINDOW' | 'CONDITIONAL' };

/**
 * A column of a table the statement reads, and how it reaches an output column. `column` is a path: a struct field or
 * a JSON key read from a column extends it (`j.items.product_id`).
 */
export type ColumnEdge = { table: string; column: string } & ColumnTransformation;

export interface StatementLineage {
  /** Every output column in order, with its own edges: what it is computed from, and what decides it alone. */
  columns: { name: string; edges: ColumnEdge[] }[];
  /** The INDIRECT edges every output column has: what decides the rows of the whole result (not repeated above). */
  dataset: ColumnEdge[];
}

/**
 * Column lineage of one DuckDB SELECT, from DuckDB's own parser (`json_serialize_sql`): names are followed through
 * CTEs, subqueries, aliases, `*` (with EXCLUDE and REPLACE), joins, unions, window functions and aggregates, down to
 * the columns of `tables` (every table the statement may read, with its columns).
 *
 * - DIRECT edges: a bare column is IDENTITY, any computation over it TRANSFORMATION, an aggregate over it
 *   AGGREGATION; nested, the stronger wins.
 * - INDIRECT edges: WHERE, HAVING, QUALIFY, an aggregate's FILTER and the non-equality parts of join conditions are
 *   FILTER; equalities across a join and USING columns are JOIN; grouping keys GROUP_BY; a window's partitions and
 *   order WINDOW; an ordered aggregate's order (and arg_min/arg_max's second argument) SORT; CASE conditions
 *   CONDITIONAL. Everything a column's own inputs depended on comes along with their own types.
 *
 * What it cannot follow (a table function in FROM, DISTINCT ON, an unaliased computed column…) is a LINEAGE_UNDERIVABLE
 * error naming the construct and where it is: never a guess.
 */
export async function sqlLineage(
  duck: Duck,
  sql: string,
  tables: Record<string, readonly string[]>,
): Promise<StatementLineage> {
  const [row] = await duck.all<{ j: string }>(`SELECT json_serialize_sql(${sqlString(sql)}) AS j`);
  const parsed = JSON.parse(row!.j) as { error: boolean; error_message?: string; statements?: { node: Node }[] };
  if (parsed.error || !parsed.statements)
    throw new MeshError(ErrorCode.LINEAGE_UNDERIVABLE, `not one SELECT statement: ${parsed.error_message ?? ''}`);
  if (parsed.statements.length !== 1)
    throw new MeshError(ErrorCode.LINEAGE_UNDERIVABLE, `${parsed.statements.length} statements where one is expected`);
  const analysis = new Analysis(sql, tables);
  const statement = parsed.statements[0]!.node;
  const result = analysis.query(statement, { ctes: new Map(), outer: undefined });
  const unnamed = result.order.findIndex((n) => n.startsWith('#'));
  if (unnamed >= 0)
    analysis.fail(`output column ${unnamed + 1}, computed without an alias`, statement.select_list?.[unnamed]);
  const columns = result.order.map((name) => ({ name, edges: [...result.columns.get(name.toLowerCase())!.values()] }));
  // What every column has decides the rows of the whole result: said once, for the dataset.
  const shared = columns.length
    ? columns
        .map((c) => new Set(c.edges.filter((e) => e.type === 'INDIRECT').map(edgeKey)))
        .reduce((a, b) => new Set([...a].filter((k) => b.has(k))))
    : new Set<string>();
  return {
    columns: columns.map((c) => ({ name: c.name, edges: sorted(c.edges.filter((e) => !shared.has(edgeKey(e)))) })),
    dataset: sorted((columns[0]?.edges ?? []).filter((e) => shared.has(edgeKey(e)))),
  };
}

// The parser's JSON, as far as this analysis reads it: its shape varies by node class, and each read checks the node's
// `class` or `type` first.
// biome-ignore lint/suspicious/noExplicitAny: an untyped tree from DuckDB's parser
type Node = Record<string, any>;
type Edges = Map<string, ColumnEdge>;

interface Relation {
  /** Output names in order (the original spelling), for `*` and for the result. */
  order: string[];
  /** Each column's edges, by lower-case name. */
  columns: Map<string, Edges>;
  /** What decides the relation's rows, as INDIRECT edges (already inside every one of its columns). */
  rows: Edges;
}

interface Scope {
  ctes: Map<string, { node: Node; aliases: string[]; scope: Scope; done?: Relation }>;
  outer: Frame | undefined;
}

/** The relations a SELECT reads from, by alias, with the columns USING merged, and the scope around it. */
interface Frame {
  relations: { alias: string; relation: Relation }[];
  merged: Map<string, Edges>;
  outer: Frame | undefined;
  /** Names bound by an enclosing lambda (`i -> i.quantity`): the elements of the list it runs over. */
  lambda?: Map<string, Edges>;
  /** The select list's aliases, which WHERE, GROUP BY, HAVING and QUALIFY may name. */
  aliases?: Map<string, Node>;
}

const RANK = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 } as const;

const AGGREGATES = new Set([
  'count',
  'count_star',
  'sum',
  'min',
  'max',
  'avg',
  'mean',
  'median',
  'mode',
  'arg_min',
  'arg_max',
  'min_by',
  'max_by',
  'argmin',
  'argmax',
  'first',
  'last',
  'any_value',
  'list',
  'array_agg',
  'string_agg',
  'group_concat',
  'bool_and',
  'bool_or',
  'bit_and',
  'bit_or',
  'product',
  'quantile',
  'quantile_cont',
  'quantile_disc',
  'approx_quantile',
  'approx_count_distinct',
  'stddev',
  'stddev_pop',
  'stddev_samp',
  'variance',
  'var_pop',
  'var_samp',
  'corr',
  'covar_pop',
  'covar_samp',
  'histogram',
  'entropy',
  'kurtosis',
  'skewness',
  'fsum',
  'sumkahan',
  'kahan_sum',
]);
/** Reads of a key or field from a JSON or struct value, as operators and as functions. */
const KEY_READS = new Set([
  'STRUCT_EXTRACT',
  'ARRAY_EXTRACT',
  '->',
  '->>',
  'struct_extract',
  'json_extract',
  'json_extract_string',
  'json_extract_path',
  'json_extract_path_text',
]);
/** Aggregates whose second argument chooses the row the first is taken from. */
const CHOOSING = new Set(['arg_min', 'arg_max', 'min_by', 'max_by', 'argmin', 'argmax']);

function edgeKey(e: ColumnEdge): string {
  return `${e.table}\u0000${e.column}\u0000${e.type}\u0000${e.subtype}`;
}

function sorted(edges: ColumnEdge[]): ColumnEdge[] {
  return edges.sort((a, b) => edgeKey(a).localeCompare(edgeKey(b)));
}

function union(...sets: Edges[]): Edges {
  const out: Edges = new Map();
  for (const s of sets) for (const [k, e] of s) out.set(k, e);
  return out;
}

function add(set: Edges, e: ColumnEdge): void {
  set.set(edgeKey(e), e);
}

/** DIRECT edges raised to at least `subtype` (a computation over a column is at least a transformation of it). */
function raise(set: Edges, subtype: 'TRANSFORMATION' | 'AGGREGATION'): Edges {
  const out: Edges = new Map();
  for (const e of set.values())
    add(out, e.type === 'DIRECT' && RANK[e.subtype] < RANK[subtype] ? { ...e, type: 'DIRECT', subtype } : e);
  return out;
}

/** The DIRECT edges of what decides something, as INDIRECT edges of one kind; INDIRECT ones keep theirs. */
function indirect(set: Edges, subtype: Extract<ColumnTransformation, { type: 'INDIRECT' }>['subtype']): Edges {
  const out: Edges = new Map();
  for (const e of set.values()) add(out, e.type === 'DIRECT' ? { ...e, type: 'INDIRECT', subtype } : e);
  return out;
}

/**
 * What a join condition decides: the columns it compares. What decided those columns' own rows is not carried over:
 * in an inner join it decides every row already (each side's rows), in an outer join only the outer side's columns.
 */
function keyEdges(set: Edges, subtype: 'JOIN' | 'FILTER'): Edges {
  const out: Edges = new Map();
  for (const e of set.values()) if (e.type === 'DIRECT') add(out, { ...e, type: 'INDIRECT', subtype });
  return out;
}

/** A struct field or JSON key read from a value: its DIRECT inputs' paths grow by it. */
function extend(set: Edges, path: string[]): Edges {
  if (path.length === 0) return set;
  const out: Edges = new Map();
  for (const e of set.values()) add(out, e.type === 'DIRECT' ? { ...e, column: [e.column, ...path].join('.') } : e);
  return out;
}

const lower = (s: string) => s.toLowerCase();

class Analysis {
  constructor(
    private readonly sql: string,
    private readonly tables: Record<string, readonly string[]>,
  ) {}

  fail(what: string, node?: Node): never {
    const at =
      typeof node?.query_location === 'number' && node.query_location < this.sql.length ? node.query_location : -1;
    const where =
      at >= 0
        ? ` at "${this.sql
            .slice(at, at + 60)
            .replace(/\s+/g, ' ')
            .trim()}…"`
        : '';
    throw new MeshError(ErrorCode.LINEAGE_UNDERIVABLE, `column lineage cannot follow ${what}${where}`);
  }

  /** A query node (SELECT, a set operation, a CTE node) as a relation. */
  query(node: Node, scope: Scope): Relation {
    const ctes = new Map(scope.ctes);
    const inner: Scope = { ctes, outer: scope.outer };
    for (const { key, value } of (node.cte_map?.map ?? []) as { key: string; value: Node }[])
      ctes.set(lower(key), { node: value.query.node, aliases: value.aliases ?? [], scope: inner });
    for (const m of (node.modifiers ?? []) as Node[])
      if (
        m.type !== 'LIMIT_MODIFIER' &&
        m.type !== 'ORDER_MODIFIER' &&
        !(m.type === 'DISTINCT_MODIFIER' && !(m.distinct_on_targets as Node[] | undefined)?.length)
      )
        this.fail(`the modifier ${m.type}${m.type === 'DISTINCT_MODIFIER' ? ' ON' : ''}`, node);
    switch (node.type) {
      case 'SELECT_NODE':
        return this.select(node, inner);
      case 'SET_OPERATION_NODE':
        return this.setOperation(node, inner);
      default:
        return this.fail(`a ${node.type}`, node);
    }
  }

  private setOperation(node: Node, scope: Scope): Relation {
    if (!String(node.setop_type).startsWith('UNION')) this.fail(`${node.setop_type}`, node);
    const parts = ((node.children as Node[] | undefined) ?? [node.left, node.right]).map((c) => this.query(c, scope));
    const first = parts[0]!;
    for (const p of parts)
      if (p.order.length !== first.order.length) this.fail('a UNION of branches with different column counts', node);
    const columns = new Map<string, Edges>();
    first.order.forEach((name, i) =>
      columns.set(lower(name), union(...parts.map((p) => p.columns.get(lower(p.order[i]!))!))),
    );
    return { order: first.order, columns, rows: union(...parts.map((p) => p.rows)) };
  }

  private select(node: Node, scope: Scope): Relation {
    const frame: Frame = { relations: [], merged: new Map(), outer: scope.outer };
    const rows: Edges = new Map();
    if (node.from_table) this.from(node.from_table, scope, frame, rows);
    frame.aliases = new Map(
      (node.select_list as Node[]).filter((e) => e.alias).map((e) => [lower(e.alias as string), e]),
    );
    const ctx: Ctx = { scope, frame };
    if (node.where_clause) for (const e of this.condition(node.where_clause, ctx).values()) add(rows, e);
    const items = this.expandStars(node.select_list as Node[], frame);
    const aggregated =
      node.aggregate_handling === 'FORCE_AGGREGATES' ||
      (node.group_expressions as Node[]).length > 0 ||
      items.some((i) => i.expr && this.hasAggregate(i.expr));
    if (aggregated) {
      const keys =
        node.aggregate_handling === 'FORCE_AGGREGATES'
          ? items.filter((i) => !i.expr || !this.hasAggregate(i.expr)).map((i) => this.item(i, ctx))
          : (node.group_expressions as Node[]).map((g) => this.groupKey(g, node.select_list as Node[], ctx));
      for (const k of keys) for (const e of indirect(k, 'GROUP_BY').values()) add(rows, e);
    }
    if (node.having) for (const e of this.condition(node.having, ctx).values()) add(rows, e);
    if (node.qualify) for (const e of this.condition(node.qualify, ctx).values()) add(rows, e);
    for (const m of (node.modifiers ?? []) as Node[])
      if (m.type === 'ORDER_MODIFIER')
        for (const o of m.orders as Node[])
          for (const e of indirect(this.value(o.expression, ctx), 'SORT').values()) add(rows, e);
    // DISTINCT keeps one row per distinct output: every output column groups the rows.
    if ((node.modifiers as Node[] | undefined)?.some((m) => m.type === 'DISTINCT_MODIFIER'))
      for (const i of items) for (const e of indirect(this.item(i, ctx), 'GROUP_BY').values()) add(rows, e);
    const order: string[] = [];
    const columns = new Map<string, Edges>();
    for (const i of items) {
      if (columns.has(lower(i.name))) this.fail(`two output columns named "${i.name}"`, i.expr);
      order.push(i.name);
      columns.set(lower(i.name), union(this.item(i, ctx), rows));
    }
    return { order, columns, rows };
  }

  /** The select list with every `*` replaced by the columns it stands for. */
  private expandStars(list: Node[], frame: Frame): { name: string; expr?: Node; edges?: Edges }[] {
    const out: { name: string; expr?: Node; edges?: Edges }[] = [];
    for (const [index, e] of list.entries()) {
      if (e.class !== 'STAR') {
        // An unaliased computation has no name a reader could use; a scalar subquery's one column needs none.
        const name =
          (e.alias as string) || (e.class === 'COLUMN_REF' ? (e.column_names as string[]).at(-1)! : `#${index + 1}`);
        out.push({ name, expr: e });
        continue;
      }
      if (e.columns) this.fail('COLUMNS(…)', e);
      const exclude = new Set(
        [
          ...(e.exclude_list as string[]),
          ...((e.qualified_exclude_list as { column: string }[] | undefined) ?? []).map((q) => q.column),
        ].map((x) =>
          lower(typeof x === 'string' ? x : String((x as { column_names?: string[] }).column_names?.at(-1))),
        ),
      );
      const replace = new Map(
        ((e.replace_list as { key: string; value: Node }[]) ?? []).map((r) => [lower(r.key), r.value]),
      );
      if ((e.rename_list as unknown[] | undefined)?.length) this.fail('RENAME in a star', e);
      const from = e.relation_name
        ? frame.relations.filter((r) => lower(r.alias) === lower(e.relation_name as string))
        : frame.relations;
      if (from.length === 0) this.fail(`${e.relation_name}.* of no relation in FROM`, e);
      const seen = new Set<string>();
      for (const { relation } of from)
        for (const name of relation.order) {
          const key = lower(name);
          if (exclude.has(key) || seen.has(key)) continue;
          seen.add(key);
          const merged = !e.relation_name ? frame.merged.get(key) : undefined;
          const expr = replace.get(key);
          out.push(expr ? { name, expr } : { name, edges: merged ?? relation.columns.get(key)! });
        }
    }
    return out;
  }

  private item(i: { expr?: Node; edges?: Edges }, ctx: Ctx): Edges {
    return i.edges ?? this.value(i.expr!, ctx);
  }

  /** A GROUP BY entry: an expression, a select-list position, or a select-list alias. */
  private groupKey(g: Node, list: Node[], ctx: Ctx): Edges {
    if (g.class === 'CONSTANT' && typeof g.value?.value === 'number') {
      const target = list[g.value.value - 1];
      return target ? this.value(target, ctx) : this.fail(`GROUP BY ${g.value.value}`, g);
    }
    if (g.class === 'POSITIONAL_REFERENCE') {
      const target = list[(g.index as number) - 1];
      return target ? this.value(target, ctx) : this.fail(`GROUP BY #${g.index}`, g);
    }
    return this.value(g, ctx);
  }

  private from(t: Node, scope: Scope, frame: Frame, rows: Edges): void {
    switch (t.type) {
      case 'EMPTY':
        return;
      case 'BASE_TABLE': {
        const relation = this.table(t, scope);
        frame.relations.push({ alias: (t.alias as string) || (t.table_name as string), relation });
        for (const e of relation.rows.values()) add(rows, e);
        return;
      }
      case 'SUBQUERY': {
        const relation = renamed(this.query(t.subquery.node, { ...scope, outer: frame.outer }), t.column_name_alias);
        frame.relations.push({ alias: (t.alias as string) || '', relation });
        for (const e of relation.rows.values()) add(rows, e);
        return;
      }
      case 'EXPRESSION_LIST': {
        const width = (t.values as Node[][])[0]?.length ?? 0;
        const names = (t.expected_names as string[] | undefined)?.length
          ? (t.expected_names as string[])
          : Array.from({ length: width }, (_, i) => `col${i}`);
        const relation = renamed(
          { order: names, columns: new Map(names.map((n) => [lower(n), new Map()])), rows: new Map() },
          t.column_name_alias,
        );
        for (const row of t.values as Node[][])
          row.forEach((v, i) => {
            for (const e of this.value(v, { scope, frame }).values())
              add(relation.columns.get(lower(relation.order[i]!))!, e);
          });
        frame.relations.push({ alias: (t.alias as string) || 'valueslist', relation });
        return;
      }
      case 'JOIN':
        return this.join(t, scope, frame, rows);
      default:
        this.fail(`a ${t.type} in FROM`, t);
    }
  }

  private join(t: Node, scope: Scope, frame: Frame, rows: Edges): void {
    if (t.ref_type !== 'REGULAR' && t.ref_type !== 'CROSS') this.fail(`a ${t.ref_type} join`, t);
    const left: Frame = { relations: [], merged: new Map(), outer: frame.outer };
    const right: Frame = { relations: [], merged: new Map(), outer: frame.outer };
    const leftRows: Edges = new Map();
    const rightRows: Edges = new Map();
    this.from(t.left, scope, left, leftRows);
    this.from(t.right, scope, right, rightRows);
    const type = t.ref_type === 'CROSS' ? 'INNER' : (t.join_type as string);
    // Rows a join drops decide every column: an inner join keeps rows of both sides only where they match.
    if (type !== 'RIGHT' && type !== 'FULL') for (const e of leftRows.values()) add(rows, e);
    if (type === 'INNER' || type === 'SEMI' || type === 'ANTI') for (const e of rightRows.values()) add(rows, e);
    frame.relations.push(...left.relations, ...right.relations);
    for (const [k, v] of [...left.merged, ...right.merged]) frame.merged.set(k, v);
    const joined: Frame = { ...frame, relations: [...left.relations, ...right.relations] };
    for (const name of (t.using_columns as string[]) ?? []) {
      const key = lower(name);
      const l = this.lookup(left, key, t);
      const r = this.lookup(right, key, t);
      for (const e of keyEdges(union(l, r), 'JOIN').values()) add(rows, e);
      frame.merged.set(key, type === 'RIGHT' ? r : type === 'FULL' ? raise(union(l, r), 'TRANSFORMATION') : l);
    }
    if (t.condition)
      for (const conjunct of conjuncts(t.condition)) {
        const across =
          conjunct.class === 'COMPARISON' &&
          conjunct.type === 'COMPARE_EQUAL' &&
          this.sides(conjunct.left, left, right) !== this.sides(conjunct.right, left, right) &&
          this.sides(conjunct.left, left, right) !== 'both' &&
          this.sides(conjunct.right, left, right) !== 'both';
        const edges = this.value(conjunct, { scope, frame: joined }, true);
        for (const e of keyEdges(edges, across ? 'JOIN' : 'FILTER').values()) add(rows, e);
      }
  }

  /** Which side of a join an expression reads: a column reference's relation decides. */
  private sides(e: Node, left: Frame, right: Frame): 'left' | 'right' | 'both' | 'none' {
    const refs: Node[] = [];
    walk(e, (n) => {
      if (n.class === 'COLUMN_REF') refs.push(n);
    });
    const found = new Set(
      refs.map((r) => {
        const names = (r.column_names as string[]).map(lower);
        const inLeft = frameHas(left, names);
        const inRight = frameHas(right, names);
        return inLeft && !inRight ? 'left' : inRight && !inLeft ? 'right' : 'both';
      }),
    );
    return found.size === 0 ? 'none' : found.size === 1 ? [...found][0]! : 'both';
  }

  private table(t: Node, scope: Scope): Relation {
    const name = t.schema_name ? `${t.schema_name}.${t.table_name}` : (t.table_name as string);
    const cte = !t.schema_name ? scope.ctes.get(lower(name)) : undefined;
    if (cte) {
      cte.done ??= renamed(this.query(cte.node, cte.scope), cte.aliases);
      return renamed(cte.done, t.column_name_alias);
    }
    const columns = Object.entries(this.tables).find(([k]) => lower(k) === lower(name))?.[1];
    if (!columns) this.fail(`the table ${name}, which is none of ${Object.keys(this.tables).join(', ')}`, t);
    return renamed(
      {
        order: [...columns],
        columns: new Map(columns.map((c) => [lower(c), new Map([[edgeKey(direct(name, c)), direct(name, c)]])])),
        rows: new Map(),
      },
      t.column_name_alias,
    );
  }

  /** The edges of a predicate: everything it reads decides the rows, so a window or CASE in it is read, not kept. */
  private condition(e: Node, ctx: Ctx): Edges {
    return indirect(this.value(e, ctx, true), 'FILTER');
  }

  /**
   * The edges of an expression's value. In a predicate (`predicate`), what a window or CASE reads is read like any
   * other input: the whole predicate becomes one FILTER or JOIN.
   */
  private value(e: Node, ctx: Ctx, predicate = false): Edges {
    const v = (x: Node) => this.value(x, ctx, predicate);
    const computed = (xs: Node[]) => raise(union(...xs.map(v)), 'TRANSFORMATION');
    switch (e.class) {
      case 'CONSTANT':
      case 'DEFAULT':
        return new Map();
      case 'COLUMN_REF':
        return this.column(e, ctx);
      case 'CAST':
        return computed([e.child]);
      case 'COLLATE':
        return computed([e.child]);
      case 'COMPARISON':
        return computed([e.left, e.right]);
      case 'CONJUNCTION':
        return computed(e.children as Node[]);
      case 'OPERATOR':
        return this.keyRead(e, ctx, predicate) ?? computed(e.children as Node[]);
      case 'BETWEEN':
        return computed([e.input, e.lower, e.upper]);
      case 'CASE': {
        const checks = e.case_checks as { when_expr: Node; then_expr: Node }[];
        const results = computed([...checks.map((c) => c.then_expr), e.else_expr]);
        const conditions = union(...checks.map((c) => v(c.when_expr)));
        return union(results, predicate ? raise(conditions, 'TRANSFORMATION') : indirect(conditions, 'CONDITIONAL'));
      }
      case 'LAMBDA':
        // `j->'items'` parses as a lambda: a key read from a JSON value.
        if (e.expr?.class === 'CONSTANT' && e.lhs?.class !== undefined)
          return raise(extend(v(e.lhs), [String(e.expr.value.value)]), 'TRANSFORMATION');
        return this.fail('a lambda outside a list function', e);
      case 'FUNCTION':
        return this.function(e, ctx, predicate);
      case 'WINDOW':
        return this.window(e, ctx, predicate);
      case 'SUBQUERY': {
        const sub = this.query(e.subquery.node, { ...ctx.scope, outer: ctx.frame });
        const all = union(...sub.order.map((n) => sub.columns.get(lower(n))!), sub.rows);
        if (e.subquery_type === 'SCALAR') return all;
        // EXISTS, IN, ANY: the subquery decides a truth value.
        return union(raise(all, 'TRANSFORMATION'), e.child ? v(e.child) : new Map());
      }
      case 'STAR':
        return new Map();
      default:
        return this.fail(`an expression of class ${e.class}`, e);
    }
  }

  /**
   * A key or field read from a JSON or struct value by a constant (`->`, `->>`, `.field`, `struct_extract`,
   * `json_extract`): the path of what it reads grows by the key. An index into a list reads its elements.
   */
  private keyRead(e: Node, ctx: Ctx, predicate: boolean): Edges | undefined {
    const op = e.class === 'OPERATOR' ? (e.type as string) : lower(e.function_name as string);
    if (!KEY_READS.has(op)) return undefined;
    const [from, key] = e.children as Node[];
    if (!from || key?.class !== 'CONSTANT') return undefined;
    const value = key.value?.value;
    const path =
      typeof value === 'string'
        ? value
            .replace(/^\$\.?/, '')
            .split('.')
            .filter(Boolean)
        : [];
    return raise(extend(this.value(from, ctx, predicate), path), 'TRANSFORMATION');
  }

  private function(e: Node, ctx: Ctx, predicate: boolean): Edges {
    const name = lower(e.function_name as string);
    const children = e.children as Node[];
    const read = this.keyRead(e, ctx, predicate);
    if (read) return read;
    // A list function with a lambda: the lambda's parameter stands for the list's elements.
    const lambda = children.find((c) => c.class === 'LAMBDA' && c.expr?.class !== 'CONSTANT');
    if (lambda) {
      const list = this.value(children[0]!, ctx, predicate);
      const params = lambda.lhs.class === 'COLUMN_REF' ? [lambda.lhs] : ((lambda.lhs.children as Node[]) ?? []);
      const bound: Frame = {
        relations: [],
        merged: new Map(),
        outer: ctx.frame,
        lambda: new Map(params.map((p) => [lower((p.column_names as string[])[0]!), list])),
      };
      const body = this.value(lambda.expr, { scope: ctx.scope, frame: bound }, predicate);
      const rest = children.filter((c) => c !== lambda && c !== children[0]).map((c) => this.value(c, ctx, predicate));
      return raise(union(list, body, ...rest), 'TRANSFORMATION');
    }
    if (!AGGREGATES.has(name))
      return raise(union(...children.map((c) => this.value(c, ctx, predicate))), 'TRANSFORMATION');
    const [first, ...others] = children;
    const values = CHOOSING.has(name) && first ? [first] : children;
    let out = raise(union(...values.map((c) => this.value(c, ctx, predicate))), 'AGGREGATION');
    const choosers = CHOOSING.has(name) ? others : [];
    const orders = ((e.order_bys?.orders as Node[] | undefined) ?? []).map((o) => o.expression as Node);
    const sorting = union(...[...choosers, ...orders].map((c) => this.value(c, ctx, predicate)));
    out = union(out, predicate ? raise(sorting, 'TRANSFORMATION') : indirect(sorting, 'SORT'));
    if (e.filter) out = union(out, indirect(this.value(e.filter, ctx, true), 'FILTER'));
    return out;
  }

  private window(e: Node, ctx: Ctx, predicate: boolean): Edges {
    const name = lower(e.function_name as string);
    const inputs = [...(e.children as Node[]), ...[e.offset_expr, e.default_expr].filter(Boolean)] as Node[];
    const values = union(...inputs.map((c) => this.value(c, ctx, predicate)));
    const out = raise(values, AGGREGATES.has(name) ? 'AGGREGATION' : 'TRANSFORMATION');
    const spec = [
      ...(e.partitions as Node[]),
      ...((e.orders as Node[]) ?? []).map((o) => o.expression as Node),
      ...[e.start_expr, e.end_expr].filter(Boolean),
    ] as Node[];
    const decided = union(...spec.map((c) => this.value(c, ctx, predicate)));
    const filtered = e.filter_expr ? indirect(this.value(e.filter_expr, ctx, true), 'FILTER') : new Map();
    return union(out, predicate ? raise(decided, 'TRANSFORMATION') : indirect(decided, 'WINDOW'), filtered);
  }

  /** A column reference: a relation's column (qualified or not), a lambda parameter, an alias, or an outer column. */
  private column(e: Node, ctx: Ctx): Edges {
    const names = (e.column_names as string[]).map(lower);
    for (let f: Frame | undefined = ctx.frame; f; f = f.outer) {
      const found = this.resolve(f, names, e);
      if (found) return found;
    }
    // WHERE, GROUP BY, HAVING and QUALIFY may name the select list's aliases.
    const alias = names.length === 1 ? ctx.frame.aliases?.get(names[0]!) : undefined;
    if (alias && alias !== e) return this.value(alias, { ...ctx, frame: { ...ctx.frame, aliases: undefined } });
    return this.fail(`the column ${(e.column_names as string[]).join('.')}, which no table in scope has`, e);
  }

  private resolve(f: Frame, names: string[], e: Node): Edges | undefined {
    const [head, ...rest] = names;
    if (f.lambda?.has(head!)) return extend(f.lambda.get(head!)!, rest);
    if (names.length >= 2) {
      const qualified = f.relations.filter((r) => lower(r.alias) === head);
      if (qualified.length === 1) {
        const col = qualified[0]!.relation.columns.get(names[1]!);
        if (!col) this.fail(`the column ${names.join('.')}: ${head} has no ${names[1]}`, e);
        return extend(col, names.slice(2));
      }
    }
    const merged = f.merged.get(head!);
    if (merged) return extend(merged, rest);
    const having = f.relations.filter((r) => r.relation.columns.has(head!));
    if (having.length > 1)
      this.fail(`the column ${head}, which ${having.map((r) => r.alias).join(' and ')} both have`, e);
    if (having.length === 1) return extend(having[0]!.relation.columns.get(head!)!, rest);
    return undefined;
  }

  private lookup(f: Frame, key: string, t: Node): Edges {
    return this.resolve(f, [key], t) ?? this.fail(`USING (${key}) on a side without it`, t);
  }

  private hasAggregate(e: Node): boolean {
    let found = false;
    walk(e, (n) => {
      if (n.class === 'FUNCTION' && AGGREGATES.has(lower(n.function_name as string))) found = true;
      // A window function and a subquery aggregate on their own.
      return n.class !== 'WINDOW' && n.class !== 'SUBQUERY';
    });
    return found;
  }
}

type Ctx = { scope: Scope; frame: Frame };

function direct(table: string, column: string): ColumnEdge {
  return { table, column, type: 'DIRECT', subtype: 'IDENTITY' };
}

/** A relation's columns under the names a CTE or an alias gives them (`fx(currency, per_eur)`). */
function renamed(r: Relation, aliases: string[] | undefined): Relation {
  if (!aliases?.length) return r;
  const order = r.order.map((n, i) => aliases[i] ?? n);
  return {
    order,
    columns: new Map(order.map((n, i) => [lower(n), r.columns.get(lower(r.order[i]!))!])),
    rows: r.rows,
  };
}

function conjuncts(e: Node): Node[] {
  return e.class === 'CONJUNCTION' && e.type === 'CONJUNCTION_AND' ? (e.children as Node[]).flatMap(conjuncts) : [e];
}

function frameHas(f: Frame, names: string[]): boolean {
  if (names.length >= 2 && f.relations.some((r) => lower(r.alias) === names[0])) return true;
  return f.merged.has(names[0]!) || f.relations.some((r) => r.relation.columns.has(names[0]!));
}

/** Visits every expression under `e` (not into subqueries' FROM); `visit` returning false stops the descent. */
function walk(e: unknown, visit: (n: Node) => unknown): void {
  if (Array.isArray(e)) return e.forEach((x) => walk(x, visit));
  if (!e || typeof e !== 'object') return;
  const n = e as Node;
  if (typeof n.class === 'string' && visit(n) === false) return;
  for (const [k, v] of Object.entries(n)) if (k !== 'subquery' && v && typeof v === 'object') walk(v, visit);
}
