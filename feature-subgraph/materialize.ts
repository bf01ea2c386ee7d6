import path from 'node:path';
import { reportJobMetrics, jobRunSamples, type JobSample } from '../products/index.js';
import {
  Duck,
  readParquet,
  sqlIdent as id,
  sqlString,
  MeshError,
  ErrorCode,
  type Platform,
} from '../platform/index.js';
import { currentViews, loadRegistry, updateRegistry, tableId, viewByName, type ViewVersion } from './registry.js';
import { requireOfflineTable } from './offline/table.js';
import { latestSelect } from './offline/compute.js';
import { entityKey } from './online/codec.js';
import type { OnlineStore, OnlineWrite, WriteResult } from './online/types.js';
import { materializeEvent } from './lineage.js';
import { asFeatureStore } from './storageRole.js';

export interface MaterializeOptions {
  /** View names (current version) or `view@vN`; all current views when empty. */
  views?: string[];
  /** Inclusive event-time window; `incremental` starts each view at its watermark instead. */
  start?: Date;
  end: Date;
  incremental?: boolean;
}

export interface MaterializeReport {
  table: string;
  start: string;
  end: string;
  /** Entities with a row in the window. */
  rows: number;
  written: number;
  /** Already held a value at least as new. */
  skipped: number;
  /** Older than the store keeps (event time + 2 x TTL before now): not written. */
  expired: number;
  ms: number;
}

/**
 * Writes records of a view online under its expiry (event time + 2 x TTL, judged against the data clock `now`): the
 * ones already past it are counted as expired, not written. Materialization and Feast pushes both write through here.
 */
export async function writeOnline(
  online: OnlineStore,
  view: ViewVersion,
  records: OnlineWrite[],
  now: number,
): Promise<WriteResult & { expired: number }> {
  const expireAfterMs = view.ttlSeconds * 2000;
  const live = expireAfterMs > 0 ? records.filter((r) => r.eventTs + expireAfterMs > now) : records;
  return { ...(await online.write(tableId(view), live, expireAfterMs, now)), expired: records.length - live.length };
}

/**
 * Copies the latest row per entity with an event time in [start, end] from each view's offline table into the online
 * store. The store refuses older values, so reruns and overlapping windows are harmless; the watermark moves only after
 * a view is fully written, so an interrupted run resumes where it stopped.
 */
export async function materialize(
  shared: Platform,
  online: OnlineStore,
  options: MaterializeOptions,
): Promise<MaterializeReport[]> {
  const platform = asFeatureStore(shared);
  const registry = await loadRegistry(platform.store);
  const views = options.views?.length ? options.views.map((v) => viewByName(registry, v)) : currentViews(registry);
  if (!options.incremental && !options.start)
    throw new MeshError(ErrorCode.BAD_USER_INPUT, 'materialize needs a start (or use materialize-incremental)');
  const duck = await Duck.open({
    ...platform.config.duckdb,
    tempDirectory: path.join(platform.config.tmpDir, 'duckdb'),
  });
  const reports: MaterializeReport[] = [];
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    for (const view of views) {
      const started = Date.now();
      const watermark = registry.materialization[online.url]?.[tableId(view)]?.watermark;
      const start = options.incremental ? new Date(watermark ?? 0) : options.start!;
      if (start > options.end)
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `${tableId(view)}: start ${start.toISOString()} is after end ${options.end.toISOString()}`,
        );
      const { rows, ...result } = await writeLatest(duck, platform, online, view, start, options.end);
      const report: MaterializeReport = {
        table: tableId(view),
        start: start.toISOString(),
        end: options.end.toISOString(),
        rows,
        ...result,
        ms: Date.now() - started,
      };
      reports.push(report);
      await recordWatermark(platform, online.url, view, report);
      platform.lineage.emit(
        materializeEvent({
          namespace: platform.lineage.namespace,
          storeNamespace: platform.lineage.storeNamespace,
          onlineNamespace: online.url,
          table: tableId(view),
          features: view.features.map((f) => f.name),
        }),
      );
      platform.log.info(report, 'feature view materialized');
    }
    await reportJobMetrics(platform, 'features.materialize', materializeSamples(reports, online.kind));
    return reports;
  } finally {
    duck.close();
  }
}

const BATCH = 10_000;

/**
 * Streams the latest row per entity in [start, end] into the store: DuckDB formats each value as the JSON array the
 * store keeps while the previous batch is being written, so the two overlap. When the window reaches the table's newest
 * event, the latest rows are the ones the offline table keeps beside it; otherwise they are aggregated from the whole
 * table.
 */
async function writeLatest(
  duck: Duck,
  platform: Platform,
  online: OnlineStore,
  view: ViewVersion,
  start: Date,
  end: Date,
): Promise<WriteResult & { rows: number; expired: number }> {
  const { manifest, path: file } = await requireOfflineTable(platform.store, view);
  const ts = (d: Date) => `TIMESTAMP ${sqlString(d.toISOString().replace('T', ' ').replace('Z', ''))}`;
  const window = `event_timestamp BETWEEN ${ts(start)} AND ${ts(end)}`;
  // The kept latest rows answer only when none of them lies past the window's end (exactly, whatever the precision).
  const kept = manifest.latest ? readParquet([await platform.store.localPath(manifest.latest.key)]) : undefined;
  const usable =
    kept !== undefined &&
    (await duck.one<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${kept} WHERE event_timestamp > ${ts(end)}`))
      .n === 0;
  const latest = usable ? `SELECT * FROM ${kept} WHERE ${window}` : latestSelect(view, readParquet([file]), window);
  return writeLatestRows(duck, platform, online, view, latest);
}

/**
 * Streams latest rows (`latest`: join keys, event_timestamp, created_timestamp, the features) into the store through
 * writeOnline: materialization and stream pushes alike.
 */
export async function writeLatestRows(
  duck: Duck,
  platform: Pick<Platform, 'now'>,
  online: OnlineStore,
  view: ViewVersion,
  latest: string,
): Promise<WriteResult & { rows: number; expired: number }> {
  // JSON has no NaN or infinity: those become null, as JSON.stringify makes them.
  const json = view.features.map(
    (f) =>
      `coalesce(${
        f.dtype === 'Float64'
          ? `CASE WHEN isfinite(${id(f.name)}) THEN to_json(${id(f.name)}) END`
          : `to_json(${id(f.name)})`
      }::VARCHAR, 'null')`,
  );
  const keys = view.joinKeys.map((k, i) => `${id(k)} AS __k${i}`);
  const select = `SELECT ${keys.join(', ')}, epoch_ms(event_timestamp)::DOUBLE AS "eventTs",
    epoch_ms(created_timestamp)::DOUBLE AS "createdTs", '[' || concat_ws(',', ${json.join(', ')}) || ']' AS
      "valuesJson" FROM (${latest})`;
  const total = { rows: 0, written: 0, skipped: 0, expired: 0 };
  const add = (r: WriteResult & { expired: number }) => {
    total.written += r.written;
    total.skipped += r.skipped;
    total.expired += r.expired;
  };
  let batch: OnlineWrite[] = [];
  let inFlight: Promise<WriteResult & { expired: number }> | undefined;
  const flush = async () => {
    const previous = inFlight;
    inFlight = writeOnline(online, view, batch, platform.now());
    total.rows += batch.length;
    batch = [];
    if (previous !== undefined) add(await previous);
  };
  const keyOf =
    view.joinKeys.length === 1
      ? (r: Record<string, unknown>) => String(r.__k0)
      : (r: Record<string, unknown>) => entityKey(view.joinKeys.map((_, i) => r[`__k${i}`]));
  try {
    for await (const rows of duck.stream<
      { eventTs: number; createdTs: number; valuesJson: string } & Record<string, unknown>
    >(select)) {
      for (const r of rows)
        batch.push({ key: keyOf(r), eventTs: r.eventTs, createdTs: r.createdTs, valuesJson: r.valuesJson });
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    if (inFlight !== undefined) add(await inFlight);
  }
  return total;
}

async function recordWatermark(
  platform: Platform,
  store: string,
  view: ViewVersion,
  report: MaterializeReport,
): Promise<void> {
  // On the registry's head, again if another writer moved it meanwhile: a concurrent apply is kept.
  await updateRegistry(platform, (registry) => {
    const tables = (registry.materialization[store] ??= {});
    const old = tables[tableId(view)]?.watermark;
    tables[tableId(view)] = {
      watermark: old && old > report.end ? old : report.end,
      lastRun: {
        start: report.start,
        end: report.end,
        rows: report.rows,
        written: report.written,
        at: new Date().toISOString(),
      },
    };
    return registry;
  });
}

/** The last materialization per view: what was written, skipped as not newer, or not written as already expired. */
function materializeSamples(reports: MaterializeReport[], store: string): JobSample[] {
  return [
    ...jobRunSamples(
      'features.materialize',
      { finishedAt: new Date(), durationMs: reports.reduce((n, r) => n + r.ms, 0), ok: true },
      { domain: 'features' },
    ),
    ...reports.flatMap((r) =>
      (['written', 'skipped', 'expired'] as const).map((outcome) => ({
        name: 'mesh_materialized_records',
        help: 'Records of the last materialization per feature view version and outcome',
        labels: { view: r.table, store, outcome },
        value: r[outcome],
      })),
    ),
  ];
}
