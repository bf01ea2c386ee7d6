import { beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../platform/index.js';
import { Duck, sqlString } from '../../platform/index.js';
import { currentViews, loadRegistry, tableId, type ViewVersion } from '../registry.js';
import { requireOfflineTable } from '../offline/table.js';
import { featureRowsAsOf } from '../offline/compute.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { platformWithFeatures } from './helpers.js';

/**
 * The as-of proof: a feature row stored for snapshot T must equal the same view computed at T over the curated data as
 * it was known at T (each contract dates its rows and values with knownAt). A view that reads a later fact as if known
 * earlier (an order's final cancellation, a touch's later conversion, a refund) differs, and this test names it.
 */
const DAY = 86_400_000;
const END = new Date(SMALL.end).getTime();
/** Snapshots spread over the data, away from its first days (spines start with the first event). */
const SNAPSHOTS = [28, 21, 15, 10, 6, 3].map((d) => new Date(END - d * DAY));

let platform: Platform;
let views: ViewVersion[];

beforeAll(async () => {
  platform = await platformWithFeatures();
  views = currentViews(await loadRegistry(platform.store));
});

/**
 * Where to compare a view near snapshot `at`: `at` itself for a daily view; for a view with a row per event
 * (customer_recent_orders), the row in the three days from `at` whose entity's next row is nearest, where knowing the
 * future would show soonest.
 */
async function rowTimeFrom(view: ViewVersion, at: Date): Promise<Date> {
  const { path } = await requireOfflineTable(platform.store, view);
  const keys = view.joinKeys.join(', ');
  const from = `CAST(${sqlString(at.toISOString())} AS TIMESTAMPTZ)::TIMESTAMP`;
  const duck = await Duck.open();
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    const row = await duck.all<{ t: string }>(
      `SELECT strftime(event_timestamp, '%Y-%m-%dT%H:%M:%S.%gZ') AS t FROM (
         SELECT event_timestamp,
           lead(event_timestamp) OVER (PARTITION BY ${keys} ORDER BY event_timestamp) - event_timestamp AS gap
         FROM read_parquet(${sqlString(path)}))
       WHERE event_timestamp >= ${from} AND event_timestamp < ${from} + INTERVAL 3 DAY
       ORDER BY event_timestamp = ${from} DESC, gap NULLS LAST, event_timestamp LIMIT 1`,
    );
    return row[0] ? new Date(row[0].t) : at;
  } finally {
    duck.close();
  }
}

/** Stored rows of a view at snapshot `at`, keyed by join keys. */
async function storedAt(view: ViewVersion, at: Date): Promise<Map<string, Record<string, unknown>>> {
  const { path } = await requireOfflineTable(platform.store, view);
  const duck = await Duck.open();
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    const rows = await duck.all(
      `SELECT * EXCLUDE (created_timestamp) FROM read_parquet(${sqlString(path)}) WHERE event_timestamp =
        CAST(${sqlString(at.toISOString())} AS TIMESTAMPTZ)::TIMESTAMP`,
    );
    return new Map(rows.map((r) => [view.joinKeys.map((k) => String(r[k])).join('|'), r]));
  } finally {
    duck.close();
  }
}

const round = (v: unknown) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v);

describe('as-of proof: no feature view knows the future', () => {
  it('every view, at sampled snapshots, equals its recomputation over the data known at the snapshot', async () => {
    const differences: string[] = [];
    let compared = 0;
    const rowsCompared = new Map<string, number>();
    for (const view of views) {
      for (const snapshot of SNAPSHOTS) {
        const at = await rowTimeFrom(view, snapshot);
        const stored = await storedAt(view, at);
        const known = await featureRowsAsOf(platform, view, at);
        rowsCompared.set(view.name, (rowsCompared.get(view.name) ?? 0) + known.length);
        for (const row of known) {
          const key = view.joinKeys.map((k) => String(row[k])).join('|');
          const s = stored.get(key);
          for (const f of view.features) {
            compared++;
            if (round(s?.[f.name] ?? null) !== round(row[f.name] ?? null))
              differences.push(
                `${tableId(view)}.${f.name} at ${at.toISOString().slice(0, 10)} for ${key}: ` +
                  `stored ${String(s?.[f.name])}, known then ${String(row[f.name])}`,
              );
          }
        }
        // Rows the view stored for entities nobody could have known at the snapshot are a leak too.
        const knownKeys = new Set(known.map((r) => view.joinKeys.map((k) => String(r[k])).join('|')));
        for (const key of stored.keys())
          if (!knownKeys.has(key))
            differences.push(`${tableId(view)} at ${at.toISOString().slice(0, 10)}: a row for ${key}, unknown then`);
      }
    }
    const byFeature = new Map<string, number>();
    for (const d of differences) byFeature.set(d.split(' at ')[0]!, (byFeature.get(d.split(' at ')[0]!) ?? 0) + 1);
    expect(Object.fromEntries(byFeature), differences.slice(0, 10).join('\n')).toEqual({});
    expect(compared).toBeGreaterThan(views.length * SNAPSHOTS.length * 50);
    // Every view, event-timed ones included, had rows to compare at every snapshot.
    expect([...rowsCompared].filter(([, n]) => n < SNAPSHOTS.length)).toEqual([]);
  });
});
