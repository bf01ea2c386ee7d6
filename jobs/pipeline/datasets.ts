import { createHash } from 'node:crypto';
import {
  Duck,
  readParquet,
  sqlIdent as id,
  sqlList,
  sqlString,
  MeshError,
  ErrorCode,
  type ObjectStore,
  type ObjectTags,
} from '../../platform/index.js';
import {
  primaryKey,
  isPiiClassification,
  columnProtection,
  type ContractSchemaObject,
  type DataContract,
  type GovernancePolicy,
  type LogicalType,
} from '../../governance/index.js';
import {
  curatedPrefix,
  datasetFiles,
  publishParquet,
  restrictedPrefix,
  type DatasetFile,
  type DatasetOutput,
} from '../../products/index.js';
import type { DatasetSpec } from './spec.js';

export interface DatasetContext {
  duck: Duck;
  store: ObjectStore;
  domain: string;
  contract: DataContract;
  policy: GovernancePolicy;
  maskingKey: string;
  tmpDir: string;
  /** Every staged file of each source, this run's included; none when all of them are this run's `fresh.<source>`. */
  staged: Record<string, string[]>;
}

/**
 * A curated dataset built in this run, ready to publish: `curated.<name>` holds all of it (in clear) for the quality
 * rules.
 */
export interface BuiltDataset {
  spec: DatasetSpec;
  object: ContractSchemaObject;
  /** The rows to write: all of them, or those of the touched partitions. */
  table: string;
  /** Which partitions this run rewrites: all, or a set (empty when nothing the dataset reads is new). */
  touched: 'all' | Set<string>;
  previous?: DatasetOutput;
}

/** Points `src.<source>` at every staged record of the source. */
export async function stagedViews(ctx: DatasetContext): Promise<void> {
  for (const [source, paths] of Object.entries(ctx.staged))
    await ctx.duck.run(`CREATE OR REPLACE VIEW src.${id(source)} AS ${stagedSelect(ctx, source, paths)}`);
}

function stagedSelect(ctx: DatasetContext, source: string, paths: string[]): string {
  return paths.length > 0 ? `SELECT * FROM ${readParquet(paths)}` : `SELECT * FROM fresh.${id(source)}`;
}

/** Builds every row of the dataset from all staged records. */
export async function buildFull(
  ctx: DatasetContext,
  spec: DatasetSpec,
  object: ContractSchemaObject,
): Promise<BuiltDataset> {
  const table = `curated.${id(spec.name)}`;
  await runDatasetSql(ctx, spec, table);
  await checkSchema(ctx.duck, ctx.domain, object, table);
  return { spec, object, table, touched: 'all' };
}

/**
 * Recomputes only the rows whose `by` value this run's records carry, from all staged records with those values, and
 * merges them into the partitions that held or now hold them; every other file of the previous version stays as it is.
 */
export async function buildIncremental(
  ctx: DatasetContext,
  spec: DatasetSpec,
  object: ContractSchemaObject,
  previous: DatasetOutput,
): Promise<BuiltDataset> {
  const { duck } = ctx;
  const by = spec.by!;
  const name = id(spec.name);
  const old = await Promise.all(
    datasetFiles(previous).map(async (f) => ({ file: f, path: await ctx.store.localPath(f.key) })),
  );
  const restricted = new Map(
    await Promise.all(
      datasetFiles(previous, 'restricted').map(
        async (f) => [f.partition ?? '', await ctx.store.localPath(f.key)] as const,
      ),
    ),
  );
  const clear = (files: typeof old) =>
    clearSelect(
      ctx,
      object,
      previous,
      files.map((f) => f.path),
      files.map((f) => restricted.get(f.file.partition ?? '')!),
    );

  const freshRows = await Promise.all(
    spec.reads.map(async (r) => Number((await duck.one<{ n: number }>(`SELECT count(*) AS n FROM fresh.${id(r)}`)).n)),
  );
  if (freshRows.every((n) => n === 0)) {
    await duck.run(`CREATE VIEW curated.${name} AS ${clear(old)}`);
    return { spec, object, table: `curated.${name}`, touched: new Set(), previous };
  }
  for (const r of spec.reads) {
    const cols = (await duck.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE fresh.${id(r)})`)).map(
      (c) => c.column_name,
    );
    if (!cols.includes(by))
      throw new MeshError(
        ErrorCode.PIPELINE_INVALID,
        `${ctx.domain}: dataset "${spec.name}" is recomputed by ${by}, which source "${r}" does not have`,
        { dataset: spec.name, source: r },
      );
  }
  const affected = id(`affected_${spec.name}`);
  await duck.run(
    `CREATE TEMP TABLE ${affected} AS
      ${spec.reads.map((r) => `SELECT DISTINCT ${id(by)} FROM fresh.${id(r)}`).join(' UNION ')}`,
  );
  for (const r of spec.reads) {
    await duck.run(
      `CREATE OR REPLACE VIEW src.${id(r)} AS SELECT s.* FROM (${stagedSelect(ctx, r, ctx.staged[r]!)}) s SEMI
        JOIN ${affected} USING (${id(by)})`,
    );
  }
  const delta = `delta.${name}`;
  try {
    await runDatasetSql(ctx, spec, delta);
  } finally {
    await stagedViews(ctx);
  }
  await checkSchema(duck, ctx.domain, object, delta);

  const part = partitionExpr(spec);
  const holding = await duck.all<{ filename: string }>(
    `SELECT DISTINCT filename FROM read_parquet(${sqlList(old.map((o) => o.path))}, hive_partitioning = false,
      filename = true) SEMI JOIN ${affected} USING (${id(by)})`,
  );
  const touched = new Set(
    (await duck.all<{ p: string }>(`SELECT DISTINCT ${part} AS p FROM ${delta}`)).map((r) => r.p),
  );
  for (const h of holding) touched.add(old.find((o) => o.path === h.filename)!.file.partition ?? '');
  const rewritten = old.filter((o) => touched.has(o.file.partition ?? ''));
  const kept = old.filter((o) => !touched.has(o.file.partition ?? ''));
  const table = `touched.${name}`;
  const survivors =
    rewritten.length > 0
      ? `SELECT o.* FROM (${clear(rewritten)}) o ANTI JOIN ${affected} USING (${id(by)}) UNION ALL `
      : '';
  await duck.run(`CREATE TABLE ${table} AS ${survivors}SELECT * FROM ${delta}`);
  await duck.run(
    `CREATE VIEW curated.${name} AS ${kept.length > 0 ? `${clear(kept)} UNION ALL ` : ''}SELECT * FROM ${table}`,
  );
  return { spec, object, table, touched, previous };
}

async function runDatasetSql(ctx: DatasetContext, spec: DatasetSpec, table: string): Promise<void> {
  try {
    await ctx.duck.run(`CREATE TABLE ${table} AS ${spec.sql}`);
  } catch (err) {
    throw new MeshError(
      ErrorCode.PIPELINE_INVALID,
      `${ctx.domain}: SQL of dataset "${spec.name}" failed: ${(err as Error).message}`,
      { domain: ctx.domain, dataset: spec.name },
    );
  }
}

/** Rows of published files in clear: the shared copy with its PII columns taken back from the restricted copy. */
function clearSelect(
  ctx: DatasetContext,
  object: ContractSchemaObject,
  previous: DatasetOutput,
  shared: string[],
  restricted: string[],
): string {
  const pii = new Set(previous.restricted?.columns.slice(primaryKey(object).length) ?? []);
  if (pii.size === 0) return `SELECT * FROM ${readParquet(shared)}`;
  const key = primaryKey(object);
  const cols = object.properties.map((p) => (pii.has(p.name) ? `r.${id(p.name)}` : `s.${id(p.name)}`)).join(', ');
  return `SELECT ${cols} FROM ${readParquet(shared)} s JOIN ${readParquet(restricted)} r
    ON ${key.map((k) => `s.${id(k)} = r.${id(k)}`).join(' AND ')}`;
}

/** Each row's partition as text; one partition, `''`, when the dataset is not partitioned. */
function partitionExpr(spec: DatasetSpec): string {
  return spec.partitionBy ? `coalesce(CAST((${spec.partitionBy}) AS VARCHAR), '')` : `''`;
}

/**
 * Writes the touched partitions (masked, plus the restricted copy) content-addressed, and returns the dataset with
 * every other partition's file carried over from the previous version.
 */
export async function publishDataset(ctx: DatasetContext, built: BuiltDataset): Promise<DatasetOutput> {
  const { duck, store, contract, policy } = ctx;
  const { object, spec, table, touched, previous } = built;
  const pii = new Set(
    object.properties.filter((p) => isPiiClassification(policy, p.classification)).map((p) => p.name),
  );
  const tags: ObjectTags = { domain: ctx.domain, 'data-product': contract.dataProduct, layer: 'curated' };
  const keyCols = primaryKey(object);
  if (pii.size > 0 && keyCols.length === 0) {
    throw new MeshError(
      ErrorCode.CONTRACT_INVALID,
      `${ctx.domain}: dataset "${object.name}" has PII columns but no primary key to join its restricted copy on`,
      { dataset: object.name },
    );
  }
  // The primary key is unique (a blocking rule checked it), so ordering by it alone is total and cheaper than ALL.
  const order = keyCols.length > 0 ? keyCols.map(id).join(', ') : 'ALL';
  const masked = object.properties
    .map((p) => {
      const protection = columnProtection(ctx.maskingKey, policy, contract, object, p);
      // A denied column keeps its type in the shared layer, with no value at all: only the restricted layer holds it.
      if (protection.kind === 'deny') return `CASE WHEN false THEN ${id(p.name)} END AS ${id(p.name)}`;
      return protection.kind === 'token' ? `${protection.masker.sql(id(p.name))} AS ${id(p.name)}` : id(p.name);
    })
    .join(', ');
  const restrictedCols = [...keyCols, ...object.properties.filter((p) => pii.has(p.name)).map((p) => p.name)];
  const part = partitionExpr(spec);
  const label = (p: string) => (spec.partitionBy ? { partition: p } : {});
  const fileName = (p: string) => (p === '' ? 'data' : `data-${p.replace(/[^A-Za-z0-9_.-]/g, '_')}`);

  const partitions =
    touched === 'all' || touched.size > 0
      ? (await duck.all<{ p: string }>(`SELECT DISTINCT ${part} AS p FROM ${table} ORDER BY p`)).map((r) => r.p)
      : [];
  const untouched = (layer: 'curated' | 'restricted') =>
    touched === 'all' ? [] : datasetFiles(previous!, layer).filter((f) => !touched.has(f.partition ?? ''));
  const files: DatasetFile[] = untouched('curated');
  const restricted: DatasetFile[] = untouched('restricted');
  const write = async (p: string | undefined) => {
    const where = p === undefined ? '' : `WHERE ${part} = ${sqlString(p)}`;
    const name = fileName(p ?? '');
    files.push({
      ...(await publishParquet(
        duck,
        store,
        ctx.tmpDir,
        `SELECT ${masked} FROM ${table} ${where} ORDER BY ${order}`,
        curatedPrefix(ctx.domain, object.name),
        name,
        tags,
      )),
      ...label(p ?? ''),
    });
    if (pii.size > 0) {
      const select = `SELECT ${restrictedCols.map(id).join(', ')} FROM ${table} ${where} ORDER BY ${order}`;
      restricted.push({
        ...(await publishParquet(duck, store, ctx.tmpDir, select, restrictedPrefix(ctx.domain, object.name), name, {
          ...tags,
          layer: 'restricted',
        })),
        ...label(p ?? ''),
      });
    }
  };
  for (const p of partitions) await write(p);
  // An empty dataset is still one (empty) file, so readers always have something to open.
  if (files.length === 0) await write(undefined);
  const byPartition = (a: DatasetFile, b: DatasetFile) =>
    (a.partition ?? '') < (b.partition ?? '') ? -1 : (a.partition ?? '') > (b.partition ?? '') ? 1 : 0;
  files.sort(byPartition);
  restricted.sort(byPartition);
  const types = await duck.all<{ column_name: string; column_type: string }>(
    `SELECT column_name, column_type FROM (DESCRIBE ${table})`,
  );
  return {
    name: object.name,
    rows: files.reduce((n, f) => n + f.rows, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    sha256: createHash('sha256')
      .update(files.map((f) => `${f.partition ?? ''}:${f.sha256}`).join('\n'))
      .digest('hex'),
    ...(spec.partitionBy ? { partitionBy: spec.partitionBy } : {}),
    files,
    columns: types.map((t) => ({ name: t.column_name, type: t.column_type, pii: pii.has(t.column_name) })),
    ...(pii.size > 0 ? { restricted: { columns: restrictedCols, files: restricted } } : {}),
  };
}

const TYPES: Record<LogicalType, RegExp> = {
  string: /^VARCHAR$/,
  integer: /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/,
  number: /^(FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/,
  timestamp: /^TIMESTAMP( WITH TIME ZONE)?$/,
  date: /^DATE$/,
  time: /^TIME$/,
  boolean: /^BOOLEAN$/,
  object: /^(STRUCT|MAP|JSON)/,
  array: /\[\]$/,
};

/** The dataset's rows must have exactly the contract's properties, in order, with compatible types. */
async function checkSchema(duck: Duck, domain: string, object: ContractSchemaObject, table: string): Promise<void> {
  const actual = await duck.all<{ column_name: string; column_type: string }>(
    `SELECT column_name, column_type FROM (DESCRIBE ${table})`,
  );
  const problems: string[] = [];
  const want = object.properties.map((p) => p.name);
  const got = actual.map((c) => c.column_name);
  if (want.join(',') !== got.join(','))
    problems.push(`columns are [${got.join(', ')}] but the contract declares [${want.join(', ')}]`);
  for (const p of object.properties) {
    const col = actual.find((c) => c.column_name === p.name);
    if (!col) continue;
    if (!TYPES[p.logicalType].test(col.column_type))
      problems.push(`${p.name} is ${col.column_type}, not a ${p.logicalType}`);
    if (p.physicalType && p.physicalType.toUpperCase() !== col.column_type)
      problems.push(`${p.name} is ${col.column_type}, the contract says ${p.physicalType}`);
  }
  if (problems.length > 0) {
    throw new MeshError(
      ErrorCode.CONTRACT_INVALID,
      `${domain}: dataset "${object.name}" breaks its contract:\n  - ${problems.join('\n  - ')}`,
      { domain, dataset: object.name, problems },
    );
  }
}
