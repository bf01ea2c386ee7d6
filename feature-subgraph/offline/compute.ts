import path from 'node:path';
import {
  Duck,
  readParquet,
  sqlIdent as id,
  sqlString,
  listDomains,
  putJson,
  MeshError,
  isMeshError,
  ErrorCode,
  type Platform,
} from '../../platform/index.js';
import {
  curatedName,
  currentManifest,
  datasetFiles,
  publishParquet,
  featureQuarantinePrefix,
} from '../../products/index.js';
import { FEATURE_TYPES } from '../definitions.js';
import { tableId, type ViewVersion } from '../registry.js';
import { offlineManifestKey, offlinePrefix, type OfflineManifest } from './table.js';
import { featureColumnLineage, featureComputeEvent } from '../lineage.js';
import { asOfSelect, loadKnownAt } from './asOf.js';
import { asFeatureStore } from '../storageRole.js';

const ts = (iso: string) => `TIMESTAMP ${sqlString(iso.replace('T', ' ').replace('Z', ''))}`;

/**
 * Computes the offline tables of feature views from the current curated data products: runs each view's SQL, checks
 * its columns against the definition, quarantines rows without keys or event time, and publishes the table
 * content-addressed with its manifest last. The same curated versions give the same bytes, so reruns write nothing.
 */
export async function computeFeatureViews(
  shared: Platform,
  views: ViewVersion[],
  onView?: (m: OfflineManifest) => void,
): Promise<OfflineManifest[]> {
  const platform = asFeatureStore(shared);
  const duck = await Duck.open({
    ...platform.config.duckdb,
    tempDirectory: path.join(platform.config.tmpDir, 'duckdb'),
  });
  try {
    const inputs = await attachCurated(duck, platform);
    const out: OfflineManifest[] = [];
    for (const view of views) {
      const m = await computeView(duck, platform, view, inputs);
      onView?.(m);
      out.push(m);
    }
    return out;
  } finally {
    duck.close();
  }
}

interface CuratedInputs {
  versions: string[];
  /** Every curated dataset and its columns, for column lineage. */
  datasets: { domain: string; dataset: string; columns: string[] }[];
  /** Latest publication of the inputs: the created_timestamp of every row computed from them. */
  createdAt: string;
}

/**
 * Every domain's current curated data as `<domain>.<dataset>` views and `as_of()` as its extraction time. With `at`,
 * the data as it was known at that time instead (rows and values dated by each contract's knownAt, see asOf.ts), and
 * `as_of()` = `at`: what a view computed then would have seen.
 */
async function attachCurated(
  duck: Duck,
  platform: Platform,
  at?: Date,
  narrow?: { keys: string[]; relation: string; since?: { columns: Record<string, string>; from: Date } },
): Promise<CuratedInputs> {
  await duck.run(`SET TimeZone = 'UTC'`);
  const versions: string[] = [];
  const datasets: CuratedInputs['datasets'] = [];
  let createdAt = new Date(0).toISOString();
  let asOf = new Date(0).toISOString();
  const domains = listDomains(platform.config.domainsDir);
  const known = at ? loadKnownAt(domains) : undefined;
  // As-of views refer to each other (a touch's conversion to its order): every view exists before any is made as-of.
  const asOfViews: string[] = [];
  for (const d of domains) {
    const m = await currentManifest(platform, d.name);
    if (!m) continue;
    versions.push(`${m.domain}:${m.runId}`);
    if (m.publishedAt > createdAt) createdAt = m.publishedAt;
    if (m.asOf > asOf) asOf = m.asOf;
    await duck.run(`CREATE SCHEMA IF NOT EXISTS ${id(m.domain)}`);
    for (const ds of Object.values(m.datasets)) {
      const columns = ds.columns.map((c) => c.name);
      datasets.push({ domain: m.domain, dataset: ds.name, columns });
      const source = readParquet(await Promise.all(datasetFiles(ds).map((f) => platform.store.localPath(f.key))));
      const where: string[] = [];
      if (narrow && narrow.keys.every((k) => columns.includes(k))) {
        const keys = narrow.keys.map(id).join(', ');
        where.push(`(${keys}) IN (SELECT (${keys}) FROM ${narrow.relation})`);
      }
      const time = narrow?.since?.columns[`${m.domain}.${ds.name}`];
      if (time) where.push(`${id(time)} >= ${ts(narrow!.since!.from.toISOString())}`);
      await duck.run(
        `CREATE VIEW ${id(m.domain)}.${id(ds.name)} AS SELECT * FROM ${source}` +
          (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''),
      );
      if (at)
        asOfViews.push(
          `CREATE OR REPLACE VIEW ${id(m.domain)}.${id(ds.name)} AS ` +
            asOfSelect(known!.get(`${m.domain}.${ds.name}`), `${m.domain}.${ds.name}`, source, columns, at),
        );
    }
  }
  for (const statement of asOfViews) await duck.run(statement);
  // as_of(): the extraction time of the newest curated data; snapshot spines end there.
  await duck.run(`CREATE MACRO as_of() AS ${ts(at ? at.toISOString() : asOf)}`);
  return { versions, createdAt, datasets };
}

/**
 * Publishes a view's typed rows (`relation`: join keys, event_timestamp, the features, created_timestamp) as its
 * offline table, and beside it the latest row per entity that materialization reads instead of aggregating the whole
 * table again; the manifest goes last.
 */
export async function publishOfflineTable(
  duck: Duck,
  platform: Platform,
  view: ViewVersion,
  relation: string,
  meta: { createdAt: string; inputs: string[]; rejected: number; started: number },
): Promise<OfflineManifest> {
  const keys = view.joinKeys.map(id);
  const stats = await duck.one<{ n: number; distinct_n: number; lo: string | null; hi: string | null }>(
    `SELECT count(*)::INTEGER AS n, count(DISTINCT (${keys.join(', ')}, event_timestamp))::INTEGER AS distinct_n,
      strftime(min(event_timestamp), '%Y-%m-%dT%H:%M:%S.%gZ') AS lo, strftime(max(event_timestamp),
        '%Y-%m-%dT%H:%M:%S.%gZ') AS hi FROM ${relation}`,
  );
  const tags = { domain: view.domain, 'data-product': view.name, layer: 'features' };
  // Every training set scans the table whole and every materialization the latest rows: lz4 decodes fastest.
  const file = await publishParquet(
    duck,
    platform.store,
    platform.config.tmpDir,
    `SELECT * FROM ${relation}`,
    offlinePrefix(view),
    view.name,
    tags,
    'lz4',
  );
  const latest = await publishParquet(
    duck,
    platform.store,
    platform.config.tmpDir,
    `${latestSelect(view, relation)} ORDER BY ${keys.join(', ')}`,
    offlinePrefix(view),
    `${view.name}.latest`,
    tags,
    'lz4',
  );
  const manifest: OfflineManifest = {
    view: view.name,
    version: view.version,
    domain: view.domain,
    ...file,
    latest: { key: latest.key, rows: latest.rows },
    unique: stats.n === stats.distinct_n,
    minEventTimestamp: stats.lo,
    maxEventTimestamp: stats.hi,
    createdTimestamp: meta.createdAt,
    computedAt: new Date().toISOString(),
    durationMs: Date.now() - meta.started,
    inputs: meta.inputs,
    rejected: meta.rejected,
  };
  await putJson(platform.store, offlineManifestKey(view), manifest, tags);
  return manifest;
}

/**
 * The latest row per entity of an offline relation (optionally filtered by `where`), by (event_timestamp,
 * created_timestamp): what the online store keeps. arg_max is a hash aggregate, half the time of a window over every
 * row.
 */
export function latestSelect(view: ViewVersion, relation: string, where = 'true'): string {
  const keys = view.joinKeys.map(id);
  const fields = ['event_timestamp', 'created_timestamp', ...view.features.map((f) => f.name)].map(id);
  return `SELECT ${keys.join(', ')}, unnest(v) FROM (SELECT ${keys.join(', ')},
    arg_max(struct_pack(${fields.map((f) => `${f} := ${f}`).join(', ')}), (event_timestamp, created_timestamp)) AS v
      FROM ${relation} WHERE ${where} GROUP BY ALL)`;
}

/**
 * A view's rows at event time `at`, computed over the curated data as it was known at `at`: what a
 * point-in-time-correct view must have stored for that snapshot. The as-of proof compares the two.
 */
export async function featureRowsAsOf(
  platform: Platform,
  view: ViewVersion,
  at: Date,
): Promise<Record<string, unknown>[]> {
  const duck = await Duck.open({
    ...platform.config.duckdb,
    tempDirectory: path.join(platform.config.tmpDir, 'duckdb'),
  });
  try {
    await attachCurated(duck, platform, at);
    return await duck.all(
      `SELECT * FROM (${typedSelect(view, `(${view.sql})`)}) WHERE event_timestamp = ${ts(at.toISOString())}`,
    );
  } finally {
    duck.close();
  }
}

/**
 * Runs `work` over the latest row of each of `entities` (join key values in the view's order), computed by the view's
 * SQL over the current curated data narrowed to those entities (the datasets that carry the join keys; a push view's
 * rows for an entity depend on that entity's rows alone), its `created_timestamp` `createdAt`.
 */
export async function withLatestRowsOf<T>(
  platform: Platform,
  view: ViewVersion,
  entities: string[][],
  createdAt: Date,
  work: (duck: Duck, latest: string) => Promise<T>,
  /** Read these datasets (`<domain>.<dataset>`: time column) only from `from` on. */
  since?: { columns: Record<string, string>; from: Date },
): Promise<T> {
  const duck = await Duck.open({
    ...platform.config.duckdb,
    tempDirectory: path.join(platform.config.tmpDir, 'duckdb'),
  });
  try {
    const keys = view.joinKeys.map(id);
    await duck.run(`CREATE TEMP TABLE pushed_entities (${keys.map((k) => `${k} VARCHAR`).join(', ')})`);
    for (let i = 0; i < entities.length; i += 1000)
      await duck.run(
        `INSERT INTO pushed_entities VALUES ${entities
          .slice(i, i + 1000)
          .map((e) => `(${e.map(sqlString).join(', ')})`)
          .join(', ')}`,
      );
    await attachCurated(duck, platform, undefined, { keys: view.joinKeys, relation: 'pushed_entities', since });
    const typed = typedSelect(view, `(${view.sql})`);
    const rows = `(SELECT *, ${ts(createdAt.toISOString())} AS created_timestamp FROM (${typed})
      WHERE (${keys.join(', ')}) IN (SELECT (${keys.join(', ')}) FROM pushed_entities))`;
    return await work(duck, latestSelect(view, rows));
  } finally {
    duck.close();
  }
}

/** The view's rows with keys as text and every feature cast to its declared type (what the offline table stores). */
function typedSelect(view: ViewVersion, relation: string): string {
  const keys = view.joinKeys.map(id);
  const casts = view.features.map((f) => `CAST(${id(f.name)} AS ${FEATURE_TYPES[f.dtype]}) AS ${id(f.name)}`);
  const keyColumns = keys.map((k) => `CAST(${k} AS VARCHAR) AS ${k}`).join(', ');
  const keyed = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');
  return `SELECT ${keyColumns}, CAST(event_timestamp AS TIMESTAMP) AS event_timestamp, ${casts.join(', ')}
    FROM ${relation} WHERE ${keyed} AND event_timestamp IS NOT NULL`;
}

async function computeView(
  duck: Duck,
  platform: Platform,
  view: ViewVersion,
  inputs: CuratedInputs,
): Promise<OfflineManifest> {
  const where = `feature view ${tableId(view)} (${view.domain})`;
  const table = `fv_${view.name}_v${view.version}`;
  const started = Date.now();
  try {
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${id(table)} AS ${view.sql}`);
  } catch (err) {
    throw new MeshError(ErrorCode.FEATURES_INVALID, `${where}: SQL failed: ${(err as Error).message}`, {
      view: tableId(view),
    });
  }
  const columns = (await duck.all<{ column_name: string }>(`DESCRIBE ${id(table)}`)).map((c) => c.column_name);
  const expected = [...view.joinKeys, 'event_timestamp', ...view.features.map((f) => f.name)];
  const missing = expected.filter((c) => !columns.includes(c));
  const extra = columns.filter((c) => !expected.includes(c));
  if (missing.length || extra.length) {
    throw new MeshError(
      ErrorCode.FEATURES_INVALID,
      `${where}: the SQL must return exactly ${expected.join(', ')}` +
        (missing.length ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length ? `; not declared: ${extra.join(', ')}` : ''),
      { view: tableId(view), missing, extra },
    );
  }
  const keys = view.joinKeys.map(id);
  const valid = `${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')} AND event_timestamp IS NOT NULL`;
  const { rejected } = await duck.one<{ rejected: number }>(
    `SELECT count(*)::INTEGER AS rejected FROM ${id(table)} WHERE NOT (${valid})`,
  );
  if (rejected > 0) {
    await publishParquet(
      duck,
      platform.store,
      platform.config.tmpDir,
      `SELECT *, 'join key or event_timestamp is null' AS reason FROM ${id(table)} WHERE NOT (${valid})`,
      featureQuarantinePrefix(view.domain, tableId(view)),
      view.name,
      {
        domain: view.domain,
        'data-product': view.name,
        layer: 'quarantine',
      },
    );
  }
  try {
    const select = `SELECT *, ${ts(inputs.createdAt)} AS created_timestamp FROM (${typedSelect(view, id(table))})
      ORDER BY ${keys.join(', ')}, event_timestamp`;
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${id(`${table}_typed`)} AS ${select}`);
  } catch (err) {
    throw new MeshError(
      ErrorCode.FEATURES_INVALID,
      `${where}: a feature does not cast to its declared type: ${(err as Error).message}`,
      { view: tableId(view) },
    );
  }
  const manifest = await publishOfflineTable(duck, platform, view, id(`${table}_typed`), {
    createdAt: inputs.createdAt,
    inputs: inputs.versions,
    rejected,
    started,
  });
  await duck.run(`DROP TABLE ${id(table)}; DROP TABLE ${id(`${table}_typed`)}`);
  platform.log.info({ view: tableId(view), rows: manifest.rows, key: manifest.key, rejected }, 'feature view computed');
  platform.lineage.emit(
    featureComputeEvent({
      namespace: platform.lineage.namespace,
      storeNamespace: platform.lineage.storeNamespace,
      table: tableId(view),
      domain: view.domain,
      owner: view.owner,
      columns: [...view.joinKeys, 'event_timestamp', ...view.features.map((f) => f.name)],
      lineage: await featureColumnLineage(duck, view.sql, platform.lineage.storeNamespace, inputs.datasets).catch(
        (err: unknown) => {
          // Never a guess: SQL the analysis cannot follow leaves the lineage at the dataset level (`mesh contracts
          // validate` fails on it).
          if (!isMeshError(err, ErrorCode.LINEAGE_UNDERIVABLE)) throw err;
          platform.log.warn({ view: tableId(view), err }, `no column lineage: ${err.message}`);
          return undefined;
        },
      ),
      reads: inputs.datasets
        .filter((d) => new RegExp(`\\b${d.domain}\\.${d.dataset}\\b`).test(view.sql))
        .map((d) => curatedName(d.domain, d.dataset)),
    }),
  );
  return manifest;
}
