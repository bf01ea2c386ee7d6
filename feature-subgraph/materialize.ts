import path from 'node:path';
import { reportJobMetrics, jobRunSamples, type JobSample } from '../products/index.js';
import { Duck, sqlIdent as id, sqlString, MeshError, ErrorCode, type Platform } from '../platform/index.js';
import { currentViews, loadRegistry, saveRegistry, tableId, viewByName, type ViewVersion } from './registry.js';
import { requireOfflineTable } from './offline/table.js';
import { entityKey } from './online/codec.js';
import type { OnlineStore, OnlineWrite, WriteResult } from './online/types.js';
import { materializeEvent } from './lineage.js';

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
 * Writes records of a view online under its expiry (event time + 2 x TTL, judged against the data clock `now`): the ones
 * already past it are counted as expired, not written. Materialization and Feast pushes both write through here.
 */
export async function writeOnline(online: OnlineStore, view: ViewVersion, records: OnlineWrite[], now: number): Promise<WriteResult & { expired: number }> {
  const expireAfterMs = view.ttlSeconds * 2000;
  const live = expireAfterMs > 0 ? records.filter((r) => r.eventTs + expireAfterMs > now) : records;
  return { ...(await online.write(tableId(view), live, expireAfterMs, now)), expired: records.length - live.length };
}

/**
 * Copies the latest row per entity with an event time in [start, end] from each view's offline table into the online
 * store. The store refuses older values, so reruns and overlapping windows are harmless; the watermark moves only after
 * a view is fully written, so an interrupted run resumes where it stopped.
 */
export async function materialize(platform: Platform, online: OnlineStore, options: MaterializeOptions): Promise<MaterializeReport[]> {
  const registry = await loadRegistry(platform.store);
  const views = options.views?.length ? options.views.map((v) => viewByName(registry, v)) : currentViews(registry);
  if (!options.incremental && !options.start) throw new MeshError(ErrorCode.BAD_USER_INPUT, 'materialize needs a start (or use materialize-incremental)');
  const duck = await Duck.open({ ...platform.config.duckdb, tempDirectory: path.join(platform.config.tmpDir, 'duckdb') });
  const reports: MaterializeReport[] = [];
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    for (const view of views) {
      const started = Date.now();
      const watermark = registry.materialization[online.url]?.[tableId(view)]?.watermark;
      const start = options.incremental ? new Date(watermark ?? 0) : options.start!;
      if (start > options.end) throw new MeshError(ErrorCode.BAD_USER_INPUT, `${tableId(view)}: start ${start.toISOString()} is after end ${options.end.toISOString()}`);
      const records = await latestRows(duck, platform, view, start, options.end);
      const result = await writeOnline(online, view, records, platform.now());
      const report: MaterializeReport = {
        table: tableId(view),
        start: start.toISOString(),
        end: options.end.toISOString(),
        rows: records.length,
        ...result,
        ms: Date.now() - started,
      };
      reports.push(report);
      await recordWatermark(platform, online.url, view, report);
      platform.lineage.emit(
        materializeEvent({ namespace: platform.lineage.namespace, storeNamespace: platform.lineage.storeNamespace, onlineNamespace: online.url, table: tableId(view), features: view.features.map((f) => f.name) }),
      );
      platform.log.info(report, 'feature view materialized');
    }
    await reportJobMetrics(platform, 'features.materialize', materializeSamples(reports, online.kind));
    return reports;
  } finally {
    duck.close();
  }
}

async function latestRows(duck: Duck, platform: Platform, view: ViewVersion, start: Date, end: Date): Promise<OnlineWrite[]> {
  const { path: file } = await requireOfflineTable(platform.store, view);
  const keys = view.joinKeys.map(id);
  const ts = (d: Date) => `TIMESTAMP ${sqlString(d.toISOString().replace('T', ' ').replace('Z', ''))}`;
  const features = view.features.map((f) => id(f.name));
  // Values leave DuckDB as the JSON array the store keeps: formatting 100k rows there costs less than reading them as
  // structs and formatting in JS. JSON has no NaN or infinity: those become null, as JSON.stringify makes them.
  const json = view.features.map((f) => {
    const v = `v.${id(f.name)}`;
    return `coalesce(${f.dtype === 'Float64' ? `CASE WHEN isfinite(${v}) THEN to_json(${v}) END` : `to_json(${v})`}::VARCHAR, 'null')`;
  });
  // arg_max over (event, created) is a hash aggregate: half the time of a window over every row of the table.
  const rows = await duck.all<Record<string, unknown> & { __ev: number; __cr: number; __values: string }>(
    `SELECT ${keys.join(', ')}, v.__ev AS __ev, v.__cr AS __cr, '[' || concat_ws(',', ${json.join(', ')}) || ']' AS __values FROM (
       SELECT ${keys.join(', ')}, arg_max(struct_pack(__ev := epoch_ms(event_timestamp)::DOUBLE, __cr := epoch_ms(created_timestamp)::DOUBLE, ${features.map((f) => `${f} := ${f}`).join(', ')}), (event_timestamp, created_timestamp)) AS v
       FROM read_parquet(${sqlString(file)}) WHERE event_timestamp BETWEEN ${ts(start)} AND ${ts(end)} GROUP BY ALL)`,
  );
  return rows.map((r) => ({ key: entityKey(view.joinKeys.map((k) => r[k])), eventTs: r.__ev, createdTs: r.__cr, valuesJson: r.__values }));
}

async function recordWatermark(platform: Platform, store: string, view: ViewVersion, report: MaterializeReport): Promise<void> {
  // Re-read so that a concurrent apply is kept.
  const registry = await loadRegistry(platform.store);
  const tables = (registry.materialization[store] ??= {});
  const old = tables[tableId(view)]?.watermark;
  tables[tableId(view)] = {
    watermark: old && old > report.end ? old : report.end,
    lastRun: { start: report.start, end: report.end, rows: report.rows, written: report.written, at: new Date().toISOString() },
  };
  await saveRegistry(platform.store, registry);
}

/** The last materialization per view: what was written, skipped as not newer, or not written as already expired. */
function materializeSamples(reports: MaterializeReport[], store: string): JobSample[] {
  return [
    ...jobRunSamples('features.materialize', { finishedAt: new Date(), durationMs: reports.reduce((n, r) => n + r.ms, 0), ok: true }, { domain: 'features' }),
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
