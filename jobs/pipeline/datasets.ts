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
  rowsDigest,
  type DatasetFile,
  type DatasetOutput,
} from '../../products/index.js';
import type { DatasetSpec } from './spec.js';
import { mergeableTier } from './tiers.js';
import { withinRange } from './valueRange.js';

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
  /**
   * The rows to write as new files: all of the dataset, or the rows recomputed and the survivors of the files they
   * replace. Absent when nothing the dataset reads is new.
   */
  table?: string;
  /** Which files of the previous version the new ones replace: all, or these (by key); the others are carried over. */
  replaces: 'all' | Set<string>;
  /** The rows of the files replaced, in clear (incremental only): with `table`, what changed for the quality rules. */
  replaced?: string;
  /** Incremental only: the `by` values recomputed (a relation of one column), where every change to the rows is. */
  recomputed?: string;
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
  return { spec, object, table, replaces: 'all' };
}

/**
 * Recomputes only the rows whose `by` value this run's records carry, from all staged records with those values. Only
 * the files that held such rows are replaced (by their other rows and the recomputed ones); every other file of the
 * previous version stays as it is, so a run costs what it recomputes and the files it touches, not the history.
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
  const pii = new Set(previous.restricted?.columns.slice(primaryKey(object).length) ?? []);
  const old = await Promise.all(
    filePairs(previous).map(async (pair) => ({ pair, path: await ctx.store.localPath(pair.file.key) })),
  );
  const clear = async (files: typeof old) =>
    clearSelect(
      ctx,
      object,
      pii,
      files.map((f) => f.pair),
    );

  const freshRows = await Promise.all(
    spec.reads.map(async (r) => Number((await duck.one<{ n: number }>(`SELECT count(*) AS n FROM fresh.${id(r)}`)).n)),
  );
  if (freshRows.every((n) => n === 0)) {
    await duck.run(`CREATE VIEW curated.${name} AS ${await clear(old)}`);
    return { spec, object, replaces: new Set(), previous };
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
  // Staged records and published rows are read within the range of the values recomputed: a micro-batch's new ids are
  // in few row groups, and the rest of history is not read.
  const within = await withinRange(duck, affected, by);
  for (const r of spec.reads) {
    await duck.run(
      `CREATE OR REPLACE VIEW src.${id(r)} AS SELECT s.* FROM (${stagedSelect(ctx, r, ctx.staged[r]!)}) s SEMI
        JOIN ${affected} USING (${id(by)}) WHERE ${within}`,
    );
  }
  const delta = `delta.${name}`;
  try {
    await runDatasetSql(ctx, spec, delta);
  } finally {
    await stagedViews(ctx);
  }
  await checkSchema(duck, ctx.domain, object, delta);

  const holding = new Set(
    (
      await duck.all<{ filename: string }>(
        `SELECT DISTINCT filename FROM read_parquet(${sqlList(old.map((o) => o.path))}, hive_partitioning = false,
          filename = true) SEMI JOIN ${affected} USING (${id(by)}) WHERE ${within}`,
      )
    ).map((h) => h.filename),
  );
  const replaced = old.filter((o) => holding.has(o.path));
  const kept = old.filter((o) => !holding.has(o.path));
  const table = `touched.${name}`;
  const survivors =
    replaced.length > 0
      ? `SELECT o.* FROM (${await clear(replaced)}) o ANTI JOIN ${affected} USING (${id(by)}) UNION ALL `
      : '';
  await duck.run(`CREATE TABLE ${table} AS ${survivors}SELECT * FROM ${delta}`);
  const gone = `touched.${id(`replaced_${spec.name}`)}`;
  await duck.run(
    `CREATE VIEW ${gone} AS ${replaced.length > 0 ? await clear(replaced) : `SELECT * FROM ${table} LIMIT 0`}`,
  );
  await duck.run(
    `CREATE VIEW curated.${name} AS ${kept.length > 0 ? `${await clear(kept)} UNION ALL ` : ''}SELECT * FROM ${table}`,
  );
  const replaces = new Set(replaced.map((o) => o.pair.file.key));
  return { spec, object, table, replaced: gone, replaces, recomputed: affected, previous };
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

/** A published file of a dataset and, when it has PII, the restricted file of the same rows. */
interface FilePair {
  file: DatasetFile;
  restricted?: DatasetFile;
}

/** The previous version's files with their restricted copies: the two lists are written in step, pair by pair. */
function filePairs(ds: DatasetOutput): FilePair[] {
  const restricted = datasetFiles(ds, 'restricted');
  return datasetFiles(ds).map((file, i) => ({ file, ...(restricted[i] ? { restricted: restricted[i] } : {}) }));
}

/** Rows of published files in clear: the shared copy with its `pii` columns taken back from the restricted copy. */
async function clearSelect(
  ctx: DatasetContext,
  object: ContractSchemaObject,
  pii: ReadonlySet<string>,
  pairs: FilePair[],
): Promise<string> {
  const shared = readParquet(await Promise.all(pairs.map((p) => ctx.store.localPath(p.file.key))));
  if (pii.size === 0) return `SELECT * FROM ${shared}`;
  const restricted = readParquet(await Promise.all(pairs.map((p) => ctx.store.localPath(p.restricted!.key))));
  const key = primaryKey(object);
  const cols = object.properties.map((p) => (pii.has(p.name) ? `r.${id(p.name)}` : `s.${id(p.name)}`)).join(', ');
  return `SELECT ${cols} FROM ${shared} s JOIN ${restricted} r
    ON ${key.map((k) => `s.${id(k)} = r.${id(k)}`).join(' AND ')}`;
}

/** Each row's partition as text; one partition, `''`, when the dataset is not partitioned. */
function partitionExpr(spec: DatasetSpec): string {
  return spec.partitionBy ? `coalesce(CAST((${spec.partitionBy}) AS VARCHAR), '')` : `''`;
}

/**
 * Files of one partition merged once this many are about as large (rows within a factor of this): a dataset published
 * in many small runs keeps few files, and each row is rewritten a bounded number of times (log-structured, tiered).
 */
const MERGE_FANOUT = 4;

/**
 * Writes the built rows as new files (masked, plus the restricted copy) content-addressed, one per partition, and
 * returns the dataset with every file they do not replace carried over from the previous version. The dataset's hash
 * is of its rows, whichever files hold them: a version built in many runs equals the one built at once.
 */
export async function publishDataset(ctx: DatasetContext, built: BuiltDataset): Promise<DatasetOutput> {
  const { duck, store, contract, policy } = ctx;
  const { object, spec, table, replaces, previous } = built;
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
  const fileName = (p: string) => (p === '' ? 'data' : `data-${p.replace(/[^A-Za-z0-9_.-]/g, '_')}`);

  /** Writes rows in clear (`source`) as one file of partition `p` and its restricted copy. */
  const write = async (source: string, p: string | undefined): Promise<FilePair> => {
    const label = spec.partitionBy ? { partition: p ?? '' } : {};
    const name = fileName(p ?? '');
    const file = await publishParquet(
      duck,
      store,
      ctx.tmpDir,
      `SELECT ${masked} FROM (${source}) ORDER BY ${order}`,
      curatedPrefix(ctx.domain, object.name),
      name,
      tags,
      'zstd',
      true,
    );
    if (pii.size === 0) return { file: { ...file, ...label } };
    const select = `SELECT ${restrictedCols.map(id).join(', ')} FROM (${source}) ORDER BY ${order}`;
    const restricted = await publishParquet(
      duck,
      store,
      ctx.tmpDir,
      select,
      restrictedPrefix(ctx.domain, object.name),
      name,
      {
        ...tags,
        layer: 'restricted',
      },
    );
    return { file: { ...file, ...label }, restricted: { ...restricted, ...label } };
  };

  let pairs = replaces === 'all' ? [] : filePairs(previous!).filter((p) => !replaces.has(p.file.key));
  const partitions = table
    ? (await duck.all<{ p: string }>(`SELECT DISTINCT ${part} AS p FROM ${table} ORDER BY p`)).map((r) => r.p)
    : [];
  for (const p of partitions) pairs.push(await write(`SELECT * FROM ${table} WHERE ${part} = ${sqlString(p)}`, p));
  if (replaces !== 'all')
    for (const p of partitions) {
      for (;;) {
        const inPartition = pairs.filter((f) => (f.file.partition ?? '') === p);
        const merge = mergeableTier(inPartition, (x) => x.file.rows, MERGE_FANOUT);
        if (!merge) break;
        const merged = await write(await clearSelect(ctx, object, pii, merge), p);
        pairs = [...pairs.filter((x) => !merge.includes(x)), merged];
      }
    }
  // An empty dataset is still one (empty) file, so readers always have something to open; otherwise none is kept.
  pairs = pairs.filter((x) => x.file.rows > 0);
  if (pairs.length === 0) pairs.push(await write(`SELECT * FROM ${table ?? `curated.${id(spec.name)}`}`, undefined));
  const byPartition = (a: FilePair, b: FilePair) => {
    const [x, y] = [a.file.partition ?? '', b.file.partition ?? ''];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  pairs.sort(byPartition);
  // A file of a version published before digests were kept gets one, once: later versions carry it.
  const files = await Promise.all(
    pairs.map(async (x) =>
      x.file.digest ? x.file : { ...x.file, digest: await rowsDigest(duck, await store.localPath(x.file.key)) },
    ),
  );
  const types = await duck.all<{ column_name: string; column_type: string }>(
    `SELECT column_name, column_type FROM (DESCRIBE curated.${id(spec.name)})`,
  );
  const rows = files.reduce((n, f) => n + f.rows, 0);
  let digest = 0n;
  for (const f of files) digest += BigInt(f.digest!);
  return {
    name: object.name,
    rows,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    sha256: createHash('sha256')
      .update(`${types.map((t) => `${t.column_name} ${t.column_type}`).join(', ')}\n${rows}\n${digest % 2n ** 64n}`)
      .digest('hex'),
    ...(spec.partitionBy ? { partitionBy: spec.partitionBy } : {}),
    files,
    columns: types.map((t) => ({ name: t.column_name, type: t.column_type, pii: pii.has(t.column_name) })),
    ...(pii.size > 0 ? { restricted: { columns: restrictedCols, files: pairs.map((x) => x.restricted!) } } : {}),
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
