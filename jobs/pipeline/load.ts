import { createHash } from 'node:crypto';
import { Duck, sqlIdent as id, sqlList, sqlString, type ObjectStore, type ObjectInfo } from '../../platform/index.js';
import type { SourceSpec } from './spec.js';
import { UNDECODABLE } from './avroBatch.js';
import { isStreamBatch, lastSequence, withoutCovered } from './landedBatches.js';

export interface LoadedSource {
  files: ObjectInfo[];
  lines: number;
  malformed: number;
}

/**
 * Reads raw objects of a source into DuckDB: `input_<source>` holds the parseable records (with `_file`, `_line`,
 * `_raw`), and malformed lines go straight to the `quarantine` table with the reason they failed. `unloadSource` frees
 * them.
 */
export async function loadSource(
  duck: Duck,
  store: ObjectStore,
  spec: SourceSpec,
  files: ObjectInfo[],
): Promise<LoadedSource> {
  const input = id(`input_${spec.name}`);
  const source = sqlString(spec.name);
  if (files.length === 0) {
    const cols = [
      ...(spec.format === 'jsonl' ? ['NULL::JSON AS j'] : []),
      ...(spec.columns ?? []).map((c) => `NULL::VARCHAR AS ${id(c.replace(/\./g, '_'))}`),
    ].join(', ');
    await duck.run(
      `CREATE ${inputKind(spec)} ${input} AS SELECT ${cols}, NULL::VARCHAR AS _file, NULL::BIGINT AS _line,
        NULL::VARCHAR AS _raw LIMIT 0`,
    );
    return { files, lines: 0, malformed: 0 };
  }
  const paths = await mapLimit(files, 16, (f) => store.localPath(f.key));
  const fileMap = id(`files_${spec.name}`);
  await duck.run(
    `CREATE TABLE ${fileMap} AS SELECT * FROM
      (VALUES ${paths.map((p, i) => `(${sqlString(p)}, ${sqlString(files[i]!.key)})`).join(', ')}) t(path, key)`,
  );

  if (spec.format === 'jsonl') {
    const lines = id(`lines_${spec.name}`);
    // Each file is named and split once, before its lines are unnested: joining the lines to their file names cost 2x.
    await duck.run(`
      CREATE TABLE ${lines} AS
      SELECT _file, _line, _raw, json_valid(_raw) AS _ok
      FROM (
        SELECT key AS _file, unnest(split) AS _raw, unnest(range(1, len(split) + 1)) AS _line
        FROM (SELECT f.key, string_split(t.content, chr(10)) AS split FROM read_text(${sqlList(paths)}) t
          JOIN ${fileMap} f ON f.path = t.filename)
      )
      WHERE _raw <> ''`);
    await duck.run(
      `INSERT INTO quarantine SELECT ${source}, _file, _line, CASE WHEN starts_with(_raw, ${sqlString(UNDECODABLE)})
        THEN 'undecodable event: ' || split_part(_raw[${UNDECODABLE.length + 1}:], chr(9), 1) ELSE 'malformed JSON line'
        END, _raw FROM ${lines} WHERE NOT _ok`,
    );
    // A view, so the stage SQL types the fields in the same pass that extracts them; declared fields are extracted
    // together (each `->>` would parse the line again), and `j` is parsed only by stage SQL that reads it.
    const fields = spec.columns ?? [];
    const extracted = fields.length
      ? `, ${fields.map((f, i) => `_v[${i + 1}] AS ${id(f.replace(/\./g, '_'))}`).join(', ')} FROM (SELECT *, ` +
        `json_extract_string(_raw, ${sqlList(fields.map(jsonPath))}) AS _v FROM ${lines} WHERE _ok)`
      : ` FROM ${lines} WHERE _ok`;
    await duck.run(`CREATE VIEW ${input} AS SELECT _raw::JSON AS j, _file, _line, _raw${extracted}`);
    const { total, bad } = await duck.one<{ total: number; bad: number }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE NOT _ok) AS bad FROM ${lines}`,
    );
    return { files, lines: Number(total), malformed: Number(bad) };
  }

  const cols = spec.columns!;
  const rejects = id(`rejects_${spec.name}`);
  const scans = id(`reject_scans_${spec.name}`);
  await duck.run(`
    CREATE TABLE ${input} AS
    SELECT ${cols.map(id).join(', ')}, f.key AS _file,
           row_number() OVER (PARTITION BY f.key ORDER BY r._row) AS _line,
           concat_ws(',', ${cols.map((c) => `coalesce(${id(c)}, '')`).join(', ')}) AS _raw
    FROM (
      SELECT *, row_number() OVER () AS _row FROM read_csv(${sqlList(paths)},
        columns = {${cols.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ')}},
        header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', filename = true,
        store_rejects = true, rejects_table = ${sqlString(`rejects_${spec.name}`)}, rejects_scan
          = ${sqlString(`reject_scans_${spec.name}`)})
    ) r JOIN ${fileMap} f ON f.path = r.filename`);
  await duck.run(`
    INSERT INTO quarantine
    SELECT ${source}, f.key, e.line, 'malformed CSV row: ' || first(e.error_message ORDER BY e.column_idx),
      first(e.csv_line ORDER BY e.column_idx)
    FROM ${rejects} e JOIN ${scans} s USING (scan_id, file_id) JOIN ${fileMap} f ON f.path = s.file_path
    GROUP BY f.key, e.line`);
  const { good } = await duck.one<{ good: number }>(`SELECT count(*) AS good FROM ${input}`);
  const { bad } = await duck.one<{ bad: number }>(
    `SELECT count(*) AS bad FROM (SELECT DISTINCT scan_id, file_id, line FROM ${rejects})`,
  );
  return { files, lines: Number(good) + Number(bad), malformed: Number(bad) };
}

/** Drops what `loadSource` made, once the source is staged. */
export async function unloadSource(duck: Duck, spec: SourceSpec): Promise<void> {
  const scratch = ['lines', 'files', 'rejects', 'reject_scans']
    .map((t) => `DROP TABLE IF EXISTS ${id(`${t}_${spec.name}`)};`)
    .join(' ');
  await duck.run(`DROP ${inputKind(spec)} ${id(`input_${spec.name}`)}; ${scratch}`);
}

/** JSON lines are read through a view over their line table (see loadSource); CSV rows are a table. */
function inputKind(spec: SourceSpec): 'VIEW' | 'TABLE' {
  return spec.format === 'jsonl' ? 'VIEW' : 'TABLE';
}

/** `recipient.name` → `$.recipient.name`; the column is named `recipient_name`. */
function jsonPath(field: string): string {
  return `$.${field}`;
}

/** The raw objects a source reads: its prefix, its format's suffix, each stream sequence in one landed batch. */
export async function sourceFiles(store: ObjectStore, domain: string, spec: SourceSpec): Promise<ObjectInfo[]> {
  const suffix = spec.format === 'csv' ? '.csv' : /\.jsonl?$/;
  return withoutCovered(
    (await store.list(`${domain}/${spec.prefix}`)).filter((f) =>
      typeof suffix === 'string' ? f.key.endsWith(suffix) : suffix.test(f.key),
    ),
  );
}

/**
 * What a run's output depends on: every raw object read (key, size, etag) and the definition (pipeline, SQL, contract,
 * version).
 */
export function fingerprint(parts: { source: string; files: ObjectInfo[] }[], definition: string): string {
  const h = createHash('sha256').update(definition).update('\0');
  for (const p of parts) {
    for (const f of p.files) if (!isStreamBatch(f.key)) h.update(`${p.source}\0${f.key}\0${f.size}\0${f.etag}\n`);
    // Landed batches by the sequences they hold: merging them changes no input.
    const position = lastSequence(p.files.map((f) => f.key));
    if (position > 0) h.update(`${p.source}\0stream\0${position}\n`);
  }
  return h.digest('hex');
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
