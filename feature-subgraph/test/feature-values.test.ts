import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck, listDomains, sqlString, type Platform } from '../../platform/index.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { currentManifest } from '../../products/index.js';
import { copyDomains, tempDir, testPlatform } from '../../platform/test/helpers.js';
import { applyFeatures, computeFeatures } from '../featureStore.js';
import { currentViews, loadRegistry, tableId, type ViewVersion } from '../registry.js';
import { requireOfflineTable } from '../offline/table.js';
import { materialize } from '../materialize.js';
import { createOnlineStore } from '../online/index.js';
import { entityKey } from '../online/codec.js';
import { ORACLE, readCurated, type CuratedRows, type FeatureRow } from './featureOracle.js';

/**
 * Every feature value, checked against a second implementation (featureOracle.ts: plain TypeScript over the curated
 * rows, no SQL shared with the views): every row of every view's offline table, and every entity's online vector.
 * The history holds the boundaries on purpose (the generator's edge cases): orders at a snapshot's midnight and a
 * second either side, exactly 7, 30 and 90 days back, cancellations, deliveries, payments, returns, refunds and a touch
 * at the snapshot instant, the history's first and last instants, a customer who never orders.
 */
const DAY = 86_400_000;
const NO_DIRT = { malformed: 0, duplicate: 0, late: 0, nulls: 0, outOfRange: 0 };
const DATA = { scale: 0.05, seed: 11, days: 100, end: '2026-11-01T00:00:00.000Z', dirt: NO_DIRT, edgeCases: true };
/** The snapshot the edge cases sit around: five days before the end. */
const S = Date.parse(DATA.end) - 5 * DAY;

let platform: Platform;
let curated: CuratedRows;
let views: ViewVersion[];

beforeAll(async () => {
  platform = testPlatform();
  await generateMarketplace(platform.store, DATA);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
  await computeFeatures(platform);
  const asOf = Math.max(
    ...(await Promise.all(listDomains(platform.config.domainsDir).map((d) => currentManifest(platform, d.name)))).map(
      (m) => Date.parse(m!.asOf),
    ),
  );
  curated = await readCurated(platform, asOf);
  views = currentViews(await loadRegistry(platform.store));
});

/** A view's offline table as feature rows. */
async function stored(p: Platform, view: ViewVersion): Promise<FeatureRow[]> {
  const { path: file } = await requireOfflineTable(p.store, view);
  const duck = await Duck.open();
  try {
    const columns = [...view.joinKeys, 'epoch_ms(event_timestamp) AS at', ...view.features.map((f) => f.name)];
    const rows = await duck.all(`SELECT ${columns.join(', ')} FROM read_parquet(${sqlString(file)})`);
    return rows.map((r) => ({
      key: view.joinKeys.map((k) => String(r[k])).join('|'),
      at: Number(r.at),
      values: Object.fromEntries(view.features.map((f) => [f.name, r[f.name] === null ? null : Number(r[f.name])])),
    }));
  } finally {
    duck.close();
  }
}

const same = (a: number | null, b: number | null) =>
  a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Where the stored rows differ from the second implementation, by feature (and rows only one side has). */
function differences(view: ViewVersion, stored: FeatureRow[], expected: FeatureRow[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const note = (what: string, detail: string) => out.set(what, [...(out.get(what) ?? []), detail]);
  const id = (r: FeatureRow) => `${r.key} at ${new Date(r.at).toISOString()}`;
  const byId = new Map(stored.map((r) => [id(r), r]));
  for (const e of expected) {
    const s = byId.get(id(e));
    byId.delete(id(e));
    if (!s) {
      note('missing rows', id(e));
      continue;
    }
    for (const f of view.features)
      if (!same(s.values[f.name] ?? null, e.values[f.name] ?? null))
        note(f.name, `${id(e)}: stored ${s.values[f.name]}, expected ${e.values[f.name]}`);
  }
  for (const extra of byId.keys()) note('extra rows', extra);
  return out;
}

const at = (rows: FeatureRow[], key: string, t: number) => rows.find((r) => r.key === key && r.at === t)?.values;

describe('feature values against a second implementation', () => {
  it('the history holds the boundary cases, and the second implementation reads them as the views mean them', () => {
    const orders = ORACLE.customer_orders!(curated);
    // c-edge-1 ordered at S - 1 s, S, S + 1 s, and at the 7, 30 and 90-day edges and a second before each.
    expect(at(orders, 'c-edge-1', S)).toMatchObject({ total_purchases_30d: 4, num_transactions_7d: 2 });
    expect(at(orders, 'c-edge-1', S + DAY)).toMatchObject({ total_purchases_30d: 5, num_transactions_7d: 3 });
    // An order cancelled exactly at S is still held by the snapshot at S, and gone from the next.
    const cancelled = curated.orders.find((o) => o.customer === 'c-edge-2' && o.cancelled === S)!;
    expect(at(orders, 'c-edge-2', S)!.total_spend_90d).toBeGreaterThanOrEqual(cancelled.totalEurCents / 100);
    expect(at(orders, 'c-edge-2', S)!.total_spend_90d! - at(orders, 'c-edge-2', S + DAY)!.total_spend_90d!).toBeCloseTo(
      cancelled.totalEurCents / 100,
      9,
    );
    // A return at S counts from the snapshot after it.
    expect(curated.returns.some((r) => r.returned === S)).toBe(true);
    expect(at(orders, 'c-edge-2', S)!.return_rate_90d).toBe(0);
    expect(at(orders, 'c-edge-2', S + DAY)!.return_rate_90d).toBeGreaterThan(0);
    // The customer who never orders has a row every day, all zero, no last order.
    expect(at(orders, 'c-edge-4', S)).toEqual({
      total_purchases_30d: 0,
      num_transactions_7d: 0,
      avg_order_value_90d: null,
      total_spend_90d: 0,
      return_rate_90d: 0,
      days_since_last_order: null,
    });
    // The first order of the history is its first instant: the first snapshot is the next midnight.
    const first = Math.min(...curated.orders.map((o) => o.placed));
    expect(first).toBe(Date.parse(DATA.end) - DATA.days * DAY);
    expect(Math.min(...orders.map((r) => r.at))).toBe(first + DAY);
  });

  it('equals the offline table of every view, row for row and value for value', async () => {
    const found: Record<string, Record<string, number>> = {};
    const examples: string[] = [];
    let compared = 0;
    for (const view of views) {
      const expected = ORACLE[view.name]!(curated);
      const rows = await stored(platform, view);
      compared += expected.length * view.features.length;
      for (const [what, list] of differences(view, rows, expected)) {
        (found[tableId(view)] ??= {})[what] = list.length;
        examples.push(...list.slice(0, 2).map((l) => `${tableId(view)}.${what} ${l}`));
      }
    }
    expect(found, examples.slice(0, 12).join('\n')).toEqual({});
    expect(new Set(views.map((v) => v.name))).toEqual(new Set(Object.keys(ORACLE)));
    expect(compared).toBeGreaterThan(50_000);
  });

  it('equals each entity’s online vector after materialization: its latest snapshot', async () => {
    const online = createOnlineStore({ kind: 'sqlite', file: path.join(tempDir(), 'online.sqlite') });
    try {
      // On the data clock of the extraction, as the scheduler materializes after a run: values expire from there.
      const clocked = testPlatform({
        MESH_DATA_DIR: platform.config.dataDir,
        MESH_NOW: new Date(curated.asOf).toISOString(),
      });
      await materialize(clocked, online, { incremental: true, end: new Date(curated.asOf) });
      const wrong: string[] = [];
      let compared = 0;
      let expired = 0;
      for (const view of views) {
        const latest = new Map<string, FeatureRow>();
        for (const r of ORACLE[view.name]!(curated))
          if (r.at <= curated.asOf && (latest.get(r.key)?.at ?? -1) < r.at) latest.set(r.key, r);
        const keys = [...latest.keys()];
        const [records] = await online.read([{ table: tableId(view), keys: keys.map((k) => entityKey([k])) }]);
        keys.forEach((k, i) => {
          const rec = records![i];
          const e = latest.get(k)!;
          // Past twice its TTL, a value is not written online (materialize.ts, writeOnline).
          if (view.ttlSeconds > 0 && e.at + view.ttlSeconds * 2000 <= curated.asOf) {
            expired++;
            if (rec) wrong.push(`${tableId(view)} ${k}: a record of ${rec.eventTs}, expired by then`);
            return;
          }
          if (!rec || rec.eventTs !== e.at) return void wrong.push(`${tableId(view)} ${k}: no record of ${e.at}`);
          view.features.forEach((f, j) => {
            compared++;
            const v = rec.values[j] === null || rec.values[j] === undefined ? null : Number(rec.values[j]);
            if (!same(v, e.values[f.name] ?? null))
              wrong.push(`${tableId(view)}.${f.name} ${k}: online ${v}, expected ${e.values[f.name]}`);
          });
        });
      }
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(compared).toBeGreaterThan(1_000);
      expect(expired).toBeGreaterThan(0);
    } finally {
      await online.close();
    }
  });
});

describe('planted mistakes in the views fail the comparison', () => {
  let domains: ReturnType<typeof copyDomains>;
  beforeAll(() => {
    domains = copyDomains();
  });
  afterAll(() => domains.remove());

  /** The view computed from SQL with one change, and the features that then differ from the second implementation. */
  async function planted(view: string, file: string, from: string | RegExp, to: string): Promise<string[]> {
    const sqlFile = path.join(domains.dir, file);
    const original = fs.readFileSync(sqlFile, 'utf8');
    const changed = original.replace(from, to);
    expect(changed, `the plant changes ${file}`).not.toBe(original);
    fs.writeFileSync(sqlFile, changed);
    const dataDir = tempDir();
    fs.cpSync(platform.config.dataDir, dataDir, { recursive: true });
    try {
      const p = testPlatform({ MESH_DATA_DIR: dataDir, MESH_DOMAINS_DIR: domains.dir });
      await applyFeatures(p);
      await computeFeatures(p, { views: [view] });
      const v = currentViews(await loadRegistry(p.store)).find((x) => x.name === view)!;
      expect(v.version, 'the changed SQL is a new version').toBeGreaterThan(1);
      return [...differences(v, await stored(p, v), ORACLE[view]!(curated)).keys()].sort();
    } finally {
      fs.writeFileSync(sqlFile, original);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  const PLANTS: [name: string, view: string, file: string, from: string | RegExp, to: string, fails: string[]][] = [
    [
      'orders_30d and orders_7d swapped',
      'customer_orders',
      'sales/features/customer_orders.sql',
      /coalesce\(h\.orders_30d, 0\) AS total_purchases_30d,\n  coalesce\(h\.orders_7d, 0\) AS num_transactions_7d/,
      'coalesce(h.orders_7d, 0) AS total_purchases_30d,\n  coalesce(h.orders_30d, 0) AS num_transactions_7d',
      ['num_transactions_7d', 'total_purchases_30d'],
    ],
    [
      'a 30-day window one day too long',
      'customer_orders',
      'sales/features/customer_orders.sql',
      'placed_at >= day - INTERVAL 30 DAY',
      'placed_at >= day - INTERVAL 31 DAY',
      ['total_purchases_30d'],
    ],
    [
      'an order placed at the snapshot counted on its wrong side',
      'customer_orders',
      'sales/features/customer_orders.sql',
      'o.placed_at < g.day',
      'o.placed_at <= g.day',
      ['avg_order_value_90d', 'num_transactions_7d', 'total_purchases_30d', 'total_spend_90d'],
    ],
    [
      'a cancellation at the snapshot taken as known before it',
      'customer_orders',
      'sales/features/customer_orders.sql',
      'o.cancelled_at >= g.day',
      'o.cancelled_at > g.day',
      ['avg_order_value_90d', 'num_transactions_7d', 'total_purchases_30d', 'total_spend_90d'],
    ],
    [
      'the largest order instead of the sum',
      'customer_orders',
      'sales/features/customer_orders.sql',
      'sum(total_eur) AS spend_90d',
      'max(total_eur) AS spend_90d',
      ['avg_order_value_90d', 'total_spend_90d'],
    ],
    [
      'an hour window that reaches an hour ahead',
      'customer_recent_orders',
      'sales/features/customer_recent_orders.sql',
      'INTERVAL 1 HOUR PRECEDING AND CURRENT ROW',
      'INTERVAL 1 HOUR PRECEDING AND INTERVAL 1 HOUR FOLLOWING',
      ['orders_1h'],
    ],
    [
      'a 30-day delivery window of 31 days',
      'customer_delivery',
      'fulfillment/features/customer_delivery.sql',
      'w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS',
      'w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 30 DAYS',
      ['late_deliveries_30d'],
    ],
    [
      'captures counted as refunds',
      'customer_payments',
      'payments/features/customer_payments.sql',
      "WHERE t.type = 'refunded'",
      "WHERE t.type IN ('refunded', 'captured')",
      ['refunded_amount_90d'],
    ],
    [
      'a conversion counted on the day of its touch, not of its order',
      'customer_campaigns',
      'campaigns/features/customer_campaigns.sql',
      "SELECT t.customer_id, date_trunc('day', o.placed_at) + INTERVAL 1 DAY AS day",
      "SELECT t.customer_id, date_trunc('day', t.touched_at) + INTERVAL 1 DAY AS day",
      ['conversion_rate_90d', 'conversions_30d'],
    ],
    [
      'the next price instead of the previous',
      'product_pricing',
      'catalog/features/product_pricing.sql',
      'lag(price)',
      'lead(price)',
      ['price_change_pct'],
    ],
    [
      'a return known on its own day',
      'product_returns',
      'catalog/features/product_returns.sql',
      "date_trunc('day', returned_at) + INTERVAL 1 DAY AS day",
      "date_trunc('day', returned_at) AS day",
      ['return_rate_90d'],
    ],
  ];

  for (const [name, view, file, from, to, fails] of PLANTS)
    it(name, async () => {
      expect(await planted(view, file, from, to)).toEqual(fails);
    });
});
