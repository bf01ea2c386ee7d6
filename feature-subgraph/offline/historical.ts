import fs from 'node:fs';
import path from 'node:path';
import {
  Duck,
  sqlIdent as id,
  sqlString,
  MeshError,
  ErrorCode,
  type Platform,
  type Row,
} from '../../platform/index.js';
import { loadRegistry, resolveFeatures, type ResolvedFeatures, type ViewRequest } from '../registry.js';
import { requireOfflineTable } from './table.js';

/**
 * One view's rows for a point-in-time join: any relation with the join keys, `event_timestamp`, `created_timestamp` and
 * the features.
 */
export interface PitSource {
  request: ViewRequest;
  relation: string;
  /**
   * A column of `relation` that names each row the same on every scan: `file_row_number` of a Parquet scan, `rowid` of
   * a table.
   */
  rowId: string;
  /** True when (join keys, event_timestamp) never repeats, so the tie-break can be skipped. */
  unique: boolean;
  /**
   * Narrow the view to the entities asked for before joining (the default): a win for a few entities, a cost when the
   * entity rows name most of the view's entities.
   */
  narrow?: boolean;
  /**
   * Join on this 64-bit hash of the join keys instead of the keys: a sort on one integer instead of strings, ~20% of
   * each ASOF join. Only for a hash proven to tell apart every key on both sides (`keyHashTellsApart`), so equal hashes
   * mean equal keys and the answer is the same.
   */
  keyHash?: KeyHash;
}

/** A SQL expression hashing the given (quoted) key columns. */
export type KeyHash = (columns: string[]) => string;
export const duckdbHash: KeyHash = (columns) => `hash(${columns.join(', ')})`;

const ROW = '__mesh_row';
const TS = '__mesh_ts';
const ID = '__mesh_id';
const PIT = '__mesh_pit';
const HASH = '__mesh_hash';

/** A column as DuckDB's DESCRIBE names and types it. */
type Described = { column_name: string; column_type: string };

/** A point-in-time join as statements: `prepare` fills temp tables, `select` reads the answer. */
export interface PitQuery {
  prepare: string[];
  select: string;
}

/**
 * Feast's point-in-time join as DuckDB ASOF joins: per entity row and view, the latest row with event_timestamp <= the
 * entity's timestamp and, with a TTL, >= timestamp - TTL; ties go to the latest created_timestamp. `entities` must be a
 * relation with `event_timestamp` and a unique row number column `__mesh_row`; the answer keeps its columns and row
 * order and adds the features under their output names, in the order of `names` when given (a request's order; output
 * names are unique). Each view is joined in two steps: the ASOF join finds the matching row's id over (keys, time, id)
 * only, then the features of the matched rows are fetched by id. Carrying ten features through the ASOF join's sort
 * cost more than reading them again (1.3x at 1M rows x 5.4M). Each view's answer is a temp table in row order, one row
 * per entity row; the final query lays them side by side (POSITIONAL JOIN) and fails if any row number differs. Meeting
 * them on the row number in parallel and sorting the result was ~0.2 s faster at 1M rows x 5 views, but its hash tables
 * and sort doubled the job's peak RSS (2.2-2.4 GB against 1.1-1.3 GB) and ran out of memory under a 512 MB DuckDB
 * limit, where this completes under 256 MB. Chaining the ASOF joins was 2x slower, as it drags earlier views' columns
 * through each later sort. The entity side is sorted once per way of joining, as the ASOF joins sort it, and shared: a
 * join sorts sorted input faster (five views' joins took 1.72-1.81 s after a 70 ms sort, against 1.92-1.96 s).
 */
export function pointInTimeQuery(entities: string, sources: PitSource[], names?: string[]): PitQuery {
  const prepare = [
    `CREATE OR REPLACE TEMP TABLE ${PIT}_e AS SELECT *, CAST(event_timestamp AS TIMESTAMP)
      AS ${TS} FROM ${entities} ORDER BY ${ROW}`,
  ];
  // The entity side of the ASOF joins, per join: views joined alike share one, sorted as the joins sort it.
  const lefts = new Map<string, string>();
  sources.forEach((s, i) => {
    const viewKeys = s.request.view.joinKeys.map(id);
    // Only rows of the requested entities, and never a tie on (keys, event_timestamp) when the table may hold one.
    const dedup = s.unique
      ? ''
      : ` QUALIFY row_number() OVER (PARTITION BY ${viewKeys.join(', ')}, event_timestamp ORDER BY created_timestamp ` +
        `DESC) = 1`;
    const narrow =
      s.narrow === false
        ? ''
        : ` SEMI JOIN (SELECT DISTINCT ${viewKeys.join(', ')} FROM ${PIT}_e) USING (${viewKeys.join(', ')})`;
    // A NULL key matches nothing, as in a join on the keys: it gets no hash.
    const hashed =
      s.keyHash &&
      `CASE WHEN ${viewKeys.map((c) => `${c} IS NOT NULL`).join(' AND ')} THEN ${s.keyHash(viewKeys)} END AS ${HASH}`;
    const on = hashed ? `k.${HASH} = f.${HASH}` : viewKeys.map((c) => `k.${c} = f.${c}`).join(' AND ');
    const leftSelect = `SELECT ${ROW}, ${hashed ?? viewKeys.join(', ')}, ${TS} FROM ${PIT}_e ORDER
      BY ${hashed ? HASH : viewKeys.join(', ')}, ${TS}`;
    let left = lefts.get(leftSelect);
    if (left === undefined) {
      lefts.set(leftSelect, (left = `${PIT}_k${lefts.size}`));
      prepare.push(`CREATE OR REPLACE TEMP TABLE ${left} AS ${leftSelect}`);
    }
    const rows = `(SELECT ${hashed ?? viewKeys.join(', ')}, CAST(event_timestamp AS TIMESTAMP)
      AS ${TS}, ${s.rowId} AS ${ID} FROM ${s.relation}${narrow}${dedup})`;
    const ttl = s.request.view.ttlSeconds;
    // A match older than the TTL is no match: its id is dropped, so no feature of it is fetched.
    const match = ttl > 0 ? `CASE WHEN f.${TS} >= k.${TS} - INTERVAL ${ttl} SECOND THEN f.${ID} END` : `f.${ID}`;
    const features = s.request.features.map((f, j) => `v.${id(f.name)} AS ${id(s.request.outputNames[j]!)}`);
    prepare.push(
      `CREATE OR REPLACE TEMP TABLE ${PIT}_m${i} AS SELECT k.${ROW}, ${match} AS ${ID} FROM ${left} k ASOF LEFT
        JOIN ${rows} f ON ${on} AND k.${TS} >= f.${TS}`,
      `CREATE OR REPLACE TEMP TABLE ${PIT}_j${i} AS SELECT m.${ROW}, ${features.join(', ')} FROM ${PIT}_m${i} m LEFT
        JOIN (SELECT ${s.rowId} AS ${ID}, * FROM ${s.relation}) v USING (${ID}) ORDER BY m.${ROW}`,
      `DROP TABLE ${PIT}_m${i}`,
    );
  });
  prepare.push(...[...lefts.values()].map((t) => `DROP TABLE ${t}`));
  const selected = names ? names.map(id) : sources.map((_, i) => `j${i}.* EXCLUDE (${ROW})`);
  const joins = sources.map((_, i) => `POSITIONAL JOIN ${PIT}_j${i} j${i}`);
  const aligned = sources.map((_, i) => `j${i}.${ROW} = e.${ROW}`).join(' AND ');
  return {
    prepare,
    select: `SELECT e.* EXCLUDE (${TS}, ${ROW}), ${selected.join(', ')} FROM ${PIT}_e e ${joins.join(' ')}
      WHERE CASE WHEN ${aligned} THEN true ELSE error('point-in-time join: a view answer is out of row order') END`,
  };
}

/**
 * Whether `keyHash` gives every distinct key of `entities` and of `viewKeys` (a relation holding each key of the view,
 * its latest table) its own value: then joining on the hash is joining on the keys. Both sides must type the keys
 * alike, as a value hashes by its type; the caller compares the types.
 */
export async function keyHashTellsApart(
  duck: Duck,
  entities: string,
  viewKeys: string,
  keys: string[],
  keyHash: KeyHash = duckdbHash,
): Promise<boolean> {
  const cols = keys.map(id);
  const { distinctKeys, distinctHashes } = await duck.one<{ distinctKeys: number; distinctHashes: number }>(
    `SELECT count(*)::DOUBLE AS distinctKeys, count(DISTINCT ${keyHash(cols)})::DOUBLE AS distinctHashes
     FROM (SELECT ${cols.join(', ')} FROM ${entities} UNION SELECT ${cols.join(', ')} FROM ${viewKeys})
       WHERE ${cols.map((c) => `${c} IS NOT NULL`).join(' AND ')}`,
  );
  return distinctKeys === distinctHashes;
}

export interface TrainingSetRequest {
  /** A Parquet or CSV file of entity rows: the join keys and `event_timestamp`. */
  entities: string;
  features?: string[];
  service?: string;
  fullFeatureNames?: boolean;
}

export interface TrainingSetResult {
  rows: number;
  columns: string[];
  ms: number;
}

/** Writes a point-in-time-correct training set to a Parquet file. */
export async function writeTrainingSet(
  platform: Platform,
  request: TrainingSetRequest & { out: string },
): Promise<TrainingSetResult> {
  const started = Date.now();
  return withTrainingSet(platform, request, async (duck, sql) => {
    fs.mkdirSync(path.dirname(path.resolve(request.out)), { recursive: true });
    const tmp = `${path.resolve(request.out)}.${process.pid}.tmp`;
    let Count: number;
    try {
      // By default DuckDB builds a dictionary per column and row group until it holds 20,000-30,000 values (measured),
      // which continuous features reach, only to write them plain. Giving up past 1,024 values keeps dictionaries for
      // categories and small counts and wrote 1M rows x 50 features in 1.3-1.4 s instead of 1.8-2.3 s, in the same
      // bytes (+7% for a table with five 3,000-value columns).
      ({ Count } = await duck.one<{ Count: number }>(
        `COPY (${sql}) TO ${sqlString(tmp)} (FORMAT parquet, DICTIONARY_SIZE_LIMIT 1024)`,
      ));
      fs.renameSync(tmp, path.resolve(request.out));
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const columns = (
      await duck.all<{ name: string }>(
        `SELECT name FROM parquet_schema(${sqlString(path.resolve(request.out))}) WHERE num_children IS NULL`,
      )
    ).map((c) => c.name);
    return { rows: Number(Count), columns, ms: Date.now() - started };
  });
}

/** The same training set as rows in memory (for notebooks-sized sets; use writeTrainingSet for millions). */
export async function getHistoricalFeatures(platform: Platform, request: TrainingSetRequest): Promise<Row[]> {
  return withTrainingSet(platform, request, async (duck, sql, resolved) => {
    // BIGINT arrives as a string; counts are safe as numbers.
    const ints = resolved.views.flatMap((v) =>
      v.features.flatMap((f, i) => (f.dtype === 'Int64' ? [v.outputNames[i]!] : [])),
    );
    const rows = await duck.all(sql);
    for (const r of rows) for (const c of ints) if (r[c] != null) r[c] = Number(r[c]);
    return rows;
  });
}

async function withTrainingSet<T>(
  platform: Platform,
  request: TrainingSetRequest,
  use: (duck: Duck, sql: string, resolved: ResolvedFeatures) => Promise<T>,
): Promise<T> {
  const registry = await loadRegistry(platform.store);
  const resolved = resolveFeatures(registry, request);
  const duck = await Duck.open({
    ...platform.config.duckdb,
    tempDirectory: path.join(platform.config.tmpDir, 'duckdb'),
  });
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    await duck.run(
      `CREATE TEMP TABLE entity_df AS SELECT *, row_number() OVER () AS ${ROW} FROM ${readEntities(request.entities)}`,
    );
    const described = await duck.all<Described>(`DESCRIBE entity_df`);
    const columns = described.map((c) => c.column_name);
    const missing = ['event_timestamp', ...resolved.joinKeys].filter((c) => !columns.includes(c));
    if (missing.length)
      throw new MeshError(
        ErrorCode.BAD_USER_INPUT,
        `entity rows in ${request.entities} lack column(s) ${missing.join(', ')} (they ` +
          `have: ${columns.filter((c) => c !== ROW).join(', ')})`,
      );
    const clash = resolved.names.filter((n) => columns.includes(n));
    if (clash.length)
      throw new MeshError(
        ErrorCode.BAD_USER_INPUT,
        `entity rows already have column(s) named like requested features: ${clash.join(', ')}`,
      );
    const sources: PitSource[] = [];
    // Entities asked for, per set of join keys: views keyed alike share one count.
    const counted = new Map<string, Promise<{ asked: number }>>();
    for (const request of resolved.views) {
      const table = await requireOfflineTable(platform.store, request.view);
      // Narrowing pays off while the entity rows name under half of the view's entities (the latest table counts them).
      const keys = request.view.joinKeys.map(id).join(', ');
      if (!counted.has(keys))
        counted.set(
          keys,
          duck.one<{ asked: number }>(`SELECT count(DISTINCT (${keys}))::INTEGER AS asked FROM entity_df`),
        );
      const { asked } = await counted.get(keys)!;
      const narrow = !table.manifest.latest || asked < table.manifest.latest.rows / 2;
      const keyHash =
        table.manifest.latest &&
        (await mayJoinOnHash(
          duck,
          described,
          request.view.joinKeys,
          await platform.store.localPath(table.manifest.latest.key),
        ))
          ? duckdbHash
          : undefined;
      sources.push({
        request,
        relation: `read_parquet(${sqlString(table.path)}, file_row_number = true, hive_partitioning = false)`,
        rowId: 'file_row_number',
        unique: table.manifest.unique,
        narrow,
        keyHash,
      });
    }
    const query = pointInTimeQuery('entity_df', sources, resolved.names);
    for (const statement of query.prepare) await duck.run(statement);
    return await use(duck, query.select, resolved);
  } finally {
    duck.close();
  }
}

/** Whether the view's join keys may be joined on their hash: typed alike on both sides, and told apart by it. */
async function mayJoinOnHash(
  duck: Duck,
  entityColumns: Described[],
  keys: string[],
  latestFile: string,
): Promise<boolean> {
  const latest = `read_parquet(${sqlString(latestFile)}, hive_partitioning = false)`;
  const viewTypes = await duck.all<Described>(`DESCRIBE SELECT ${keys.map(id).join(', ')} FROM ${latest}`);
  const alike = keys.every(
    (k, i) => entityColumns.find((c) => c.column_name === k)?.column_type === viewTypes[i]?.column_type,
  );
  return alike && keyHashTellsApart(duck, 'entity_df', latest, keys);
}

function readEntities(file: string): string {
  if (!fs.existsSync(file)) throw new MeshError(ErrorCode.BAD_USER_INPUT, `entity file ${file} does not exist`);
  if (/\.parquet$/i.test(file)) return `read_parquet(${sqlString(path.resolve(file))})`;
  if (/\.(csv|tsv)(\.gz)?$/i.test(file)) return `read_csv(${sqlString(path.resolve(file))}, header = true)`;
  throw new MeshError(ErrorCode.BAD_USER_INPUT, `entity file ${file}: give a .parquet or .csv file`);
}
