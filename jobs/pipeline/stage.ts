import {
  Duck,
  readParquet,
  sqlIdent as id,
  sqlString,
  MeshError,
  ErrorCode,
  type ObjectStore,
  type ObjectTags,
} from '../../platform/index.js';
import {
  publishParquet,
  stagedPrefix,
  type PublishedFile,
  type SourceAccounting,
  type SourceState,
} from '../../products/index.js';
import type { SourceSpec } from './spec.js';
import type { LoadedSource } from './load.js';
import { mergeableTier } from './tiers.js';
import { withinRange } from './valueRange.js';

/** A source's staged files are merged this many of a size at a time: few files, however many runs there were. */
const MERGE_FANOUT = 8;

export interface StagedSource {
  accounting: SourceAccounting;
  /** Every staged file of the source after this run, this run's records included. */
  staged: PublishedFile[];
  streams: Record<string, string>;
}

/**
 * Types this run's records with the domain's stage SQL, quarantines rejects, drops duplicates (within the run and of
 * records earlier runs staged: the first seen wins), proves the counts add up, and writes the accepted records to the
 * staged layer. Leaves them in `fresh.<source>`.
 */
export async function stageSource(
  duck: Duck,
  store: ObjectStore,
  tmpDir: string,
  domain: string,
  spec: SourceSpec,
  load: LoadedSource,
  prior: SourceState | undefined,
  tags: ObjectTags,
): Promise<StagedSource> {
  const staged = id(`staged_${spec.name}`);
  const fresh = `fresh.${id(spec.name)}`;
  await duck.run(`CREATE OR REPLACE TEMP VIEW input AS SELECT * FROM ${id(`input_${spec.name}`)}`);
  try {
    await duck.run(`CREATE TABLE ${staged} AS ${spec.stageSql}`);
  } catch (err) {
    throw new MeshError(
      ErrorCode.PIPELINE_INVALID,
      `stage SQL of source "${spec.name}" failed: ${(err as Error).message}`,
      { source: spec.name },
    );
  }
  const cols = (await duck.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE ${staged})`)).map(
    (c) => c.column_name,
  );
  for (const needed of ['_reject_reason', '_file', '_line', '_raw', ...spec.key]) {
    if (!cols.includes(needed))
      throw new MeshError(
        ErrorCode.PIPELINE_INVALID,
        `stage SQL of source "${spec.name}" must select column "${needed}"`,
        { source: spec.name },
      );
  }
  await duck.run(
    `INSERT INTO quarantine SELECT ${sqlString(spec.name)}, _file, _line, _reject_reason, _raw FROM ${staged} WHERE
      _reject_reason IS NOT NULL`,
  );
  const keys = spec.key.map(id).join(', ');
  const priorPaths = await Promise.all((prior?.staged ?? []).map((f) => store.localPath(f.key)));
  const seenBefore =
    priorPaths.length > 0
      ? `ANTI JOIN (SELECT ${keys} FROM ${readParquet(priorPaths)} WHERE ${await withinRange(
          duck,
          `(SELECT * FROM ${staged} WHERE _reject_reason IS NULL)`,
          spec.key[0]!,
        )}) seen USING (${keys})`
      : '';
  await duck.run(`
    CREATE TABLE ${fresh} AS
    SELECT d.* FROM (
      SELECT * EXCLUDE (_reject_reason, _file, _line, _raw, _dup) FROM (
        SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY _file, _line) AS _dup FROM ${staged} WHERE
          _reject_reason IS NULL
      ) WHERE _dup = 1
    ) d ${seenBefore}`);
  const { n, rejected } = await duck.one<{ n: number; rejected: number }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE _reject_reason IS NOT NULL) AS rejected FROM ${staged}`,
  );
  const { curated } = await duck.one<{ curated: number }>(`SELECT count(*) AS curated FROM ${fresh}`);
  const streams = { ...(prior?.streams ?? {}) };
  const lateArrivals = spec.eventTime ? await countLate(duck, staged, spec.eventTime, streams) : 0;
  await duck.run(`DROP TABLE ${staged}`);
  const accounting: SourceAccounting = {
    source: spec.name,
    files: load.files.length,
    in: load.lines,
    curated: Number(curated),
    quarantined: load.malformed + Number(rejected),
    duplicates: Number(n) - Number(rejected) - Number(curated),
    malformed: load.malformed,
    lateArrivals,
  };
  if (accounting.in !== accounting.curated + accounting.quarantined + accounting.duplicates) {
    throw new MeshError(
      ErrorCode.ACCOUNTING_MISMATCH,
      `source "${spec.name}": ${accounting.in} records in but ${accounting.curated} curated ` +
        `+ ${accounting.quarantined} quarantined + ${accounting.duplicates} duplicates`,
      { accounting },
    );
  }
  let files = prior?.staged ?? [];
  if (accounting.curated > 0) {
    // Unsorted and snappy: every reader of staged records groups or joins them, and only the next runs read them.
    files = [
      ...files,
      await publishParquet(
        duck,
        store,
        tmpDir,
        `SELECT * FROM ${fresh}`,
        stagedPrefix(domain, spec.name),
        'rows',
        tags,
        'snappy',
      ),
    ];
  }
  for (let merge = mergeableTier(files, (f) => f.rows, MERGE_FANOUT); merge; ) {
    const merged = await mergeStaged(duck, store, tmpDir, domain, spec, merge, tags);
    files = [...files.filter((f) => !merge!.includes(f)), merged];
    merge = mergeableTier(files, (f) => f.rows, MERGE_FANOUT);
  }
  return { accounting, staged: files, streams };
}

/**
 * A stream is a file's folder with dates removed (a Kafka partition, a carrier's feed); a record is late when its
 * stream had already delivered, in an earlier file of this run or in an earlier run, events more than a day newer.
 * Updates `streams` with this run's newest event per stream.
 */
async function countLate(
  duck: Duck,
  staged: string,
  eventTime: string,
  streams: Record<string, string>,
): Promise<number> {
  const known = Object.entries(streams);
  const before =
    known.length > 0
      ? `(VALUES ${known.map(([s, t]) => `(${sqlString(s)}, TIMESTAMP ${sqlString(t)})`).join(', ')}) b(stream, newest)`
      : `(SELECT NULL::VARCHAR AS stream, NULL::TIMESTAMP AS newest LIMIT 0) b`;
  await duck.run(`
    CREATE TEMP TABLE late_files AS
    WITH r AS (SELECT ${id(eventTime)} AS t, _file FROM ${staged} WHERE _reject_reason IS NULL)
    SELECT _file, max(t) AS newest, regexp_replace(regexp_replace(_file, '/[^/]*$', ''), '\\d{4}-?\\d{2}-?\\d{2}', '',
      'g') AS stream
    FROM r GROUP BY _file`);
  const { late } = await duck.one<{ late: number }>(`
    WITH w AS (
      SELECT _file, greatest(max(f.newest) OVER (PARTITION BY f.stream ORDER BY _file ROWS BETWEEN UNBOUNDED PRECEDING
        AND 1 PRECEDING), any_value(b.newest) OVER (PARTITION BY f.stream)) AS seen
      FROM late_files f LEFT JOIN ${before} USING (stream))
    SELECT count(*) FILTER (WHERE r.t < w.seen - INTERVAL 1 DAY) AS late
    FROM (SELECT ${id(eventTime)} AS t, _file FROM ${staged} WHERE _reject_reason IS NULL) r JOIN w USING (_file)`);
  const newest = await duck.all<{ stream: string; newest: string }>(
    `SELECT stream, strftime(max(newest), '%Y-%m-%d %H:%M:%S.%f') AS newest FROM late_files WHERE newest IS NOT NULL
      GROUP BY stream`,
  );
  for (const { stream, newest: t } of newest) if (!streams[stream] || streams[stream]! < t) streams[stream] = t;
  await duck.run(`DROP TABLE late_files`);
  return Number(late);
}

/** One staged file of these, sorted by key: a dedup's key range reads few of its row groups. */
async function mergeStaged(
  duck: Duck,
  store: ObjectStore,
  tmpDir: string,
  domain: string,
  spec: SourceSpec,
  files: PublishedFile[],
  tags: ObjectTags,
): Promise<PublishedFile> {
  const paths = await Promise.all(files.map((f) => store.localPath(f.key)));
  return publishParquet(
    duck,
    store,
    tmpDir,
    `SELECT * FROM ${readParquet(paths)} ORDER BY ${spec.key.map(id).join(', ')}`,
    stagedPrefix(domain, spec.name),
    'rows',
    tags,
    'snappy',
  );
}
