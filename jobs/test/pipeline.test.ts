import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Platform } from '../../platform/index.js';
import { loadConfig } from '../../platform/config.js';
import { listDomains, selectDomains } from '../../platform/domains.js';
import { Duck, sqlString } from '../../platform/duckdb.js';
import { isMeshError } from '../../platform/errors.js';
import { generateMarketplace, type GenerateReport } from '../generate/index.js';
import { currentManifest, recentRuns } from '../../products/readers.js';
import { runDomainPipeline } from '../pipeline/run.js';
import type { RunRecord } from '../../products/types.js';
import { openLineageValidator } from '../../platform/test/openLineage.js';
import {
  expectedToken,
  recordingPlatform,
  tempDir,
  testPlatform,
  type RecordingLineage,
} from '../../platform/test/helpers.js';
import { queryCurated } from '../../products/test/helpers.js';

const OPTIONS = { scale: 0.5, seed: 11, days: 75, end: '2026-11-01T00:00:00.000Z' };

let platform: Platform;
let report: GenerateReport;
const runs: Record<string, RunRecord> = {};

beforeAll(async () => {
  platform = testPlatform();
  report = await generateMarketplace(platform.store, OPTIONS);
  for (const d of listDomains(platform.config.domainsDir)) runs[d.name] = await runDomainPipeline(platform, d);
});

describe('domain pipelines, raw → curated', () => {
  it('run for every domain and pass every blocking rule', () => {
    expect(Object.keys(runs).sort()).toEqual(['campaigns', 'catalog', 'fulfillment', 'payments', 'sales']);
    for (const r of Object.values(runs)) {
      expect(r.status).toBe('succeeded');
      expect(r.quality.filter((q) => q.blocking && !q.passed)).toEqual([]);
      expect(r.datasets.every((d) => d.rows > 0)).toBe(true);
    }
  });

  it('account for every record: in = curated + quarantined + duplicates, exactly the dirt sources carry', () => {
    for (const s of report.sources) {
      const acc = runs[s.domain]!.accounting.find((a) => a.source === s.source)!;
      expect(acc, `${s.domain}/${s.source}`).toBeDefined();
      expect(acc.in).toBe(s.lines);
      expect(acc.in).toBe(acc.curated + acc.quarantined + acc.duplicates);
      expect({
        source: s.source,
        quarantined: acc.quarantined,
        malformed: acc.malformed,
        duplicates: acc.duplicates,
      }).toEqual({
        source: s.source,
        quarantined: s.malformed + s.nulls + s.outOfRange,
        malformed: s.malformed,
        duplicates: s.duplicates,
      });
    }
  });

  it('quarantine every rejected record with its reason, file and raw text', async () => {
    const q = runs.sales!.quarantine.find((x) => x.source === 'order_events')!;
    const duck = await Duck.open();
    try {
      const rows = await duck.all<{ reason: string; file: string; raw: string }>(
        `SELECT reason, file, raw FROM read_parquet(${sqlString(await platform.store.localPath(q.key))})`,
      );
      expect(rows.length).toBe(runs.sales!.accounting.find((a) => a.source === 'order_events')!.quarantined);
      expect(rows.some((r) => r.reason === 'malformed JSON line')).toBe(true);
      expect(rows.some((r) => /^missing /.test(r.reason))).toBe(true);
      expect(rows.every((r) => r.file.startsWith('sales/raw/topics/sales.orders/') && r.raw.length > 0)).toBe(true);
    } finally {
      duck.close();
    }
    expect(await platform.store.getTags(q.key)).toEqual({
      domain: 'sales',
      'data-product': 'order_events',
      layer: 'quarantine',
    });
  });

  it(
    'mask PII in shared curated data with a token keyed per column, deny low-entropy PII, and keep clear values only ' +
      'in the restricted layer',
    async () => {
      const rows = await queryCurated<{
        customer_id: string;
        masked: string;
        clear: string;
        name: string;
        phone: string;
        clear_name: string;
      }>(
        platform,
        `SELECT c.customer_id, c.email AS masked, r.email AS clear, c.name, c.phone, r.name AS clear_name FROM c JOIN r
        USING (customer_id) WHERE r.email IS NOT NULL`,
        { c: ['sales', 'customers'], r: ['sales', 'customers', 'restricted'] },
      );
      expect(rows.length).toBeGreaterThan(500);
      for (const row of rows.slice(0, 200)) {
        expect(row.masked).toBe(expectedToken(platform.config.maskingKey, 'sales/customers.email', row.clear));
        expect(row.clear).toMatch(/@/);
        expect(row.name).toBe(expectedToken(platform.config.maskingKey, 'sales/customers.name', row.clear_name));
        expect(row.phone).toMatch(/^tok_[0-9a-f]{16}$/);
      }
      // Per-column keys: the same name in sales and fulfillment gives unrelated tokens, so masked columns do not link.
      const [linked] = await queryCurated<{ n: number; same: number }>(
        platform,
        `SELECT count(*) AS n, count(*) FILTER (WHERE c.name = s.recipient_name) AS same FROM rc JOIN c USING
        (customer_id) JOIN rs ON rs.recipient_name = rc.name JOIN s USING (shipment_id)`,
        {
          rc: ['sales', 'customers', 'restricted'],
          c: ['sales', 'customers'],
          rs: ['fulfillment', 'shipments', 'restricted'],
          s: ['fulfillment', 'shipments'],
        },
      );
      expect(Number(linked!.n)).toBeGreaterThan(100);
      expect(Number(linked!.same)).toBe(0);
      // Low-entropy kinds (card endings, postcodes) are not tokenized at all in the shared layer: a token would be
      // reversible.
      const [low] = await queryCurated<{
        cards: number;
        postcodes: number;
        clear_cards: number;
        clear_postcodes: number;
      }>(
        platform,
        `SELECT (SELECT count(card_last4) FROM p) AS cards, (SELECT count(postal_code) FROM s) AS postcodes, (SELECT
        count(card_last4) FROM rp) AS clear_cards, (SELECT count(postal_code) FROM rs) AS clear_postcodes`,
        {
          p: ['payments', 'payments'],
          s: ['fulfillment', 'shipments'],
          rp: ['payments', 'payments', 'restricted'],
          rs: ['fulfillment', 'shipments', 'restricted'],
        },
      );
      expect(Number(low!.cards)).toBe(0);
      expect(Number(low!.postcodes)).toBe(0);
      expect(Number(low!.clear_cards)).toBeGreaterThan(0);
      expect(Number(low!.clear_postcodes)).toBeGreaterThan(0);
      const m = await currentManifest(platform, 'fulfillment');
      expect(m!.datasets.shipments!.columns.filter((c) => c.pii).map((c) => c.name)).toEqual([
        'recipient_name',
        'address_line',
        'postal_code',
      ]);
      expect(m!.datasets.shipments!.restricted!.columns).toEqual([
        'shipment_id',
        'recipient_name',
        'address_line',
        'postal_code',
      ]);
      expect(await platform.store.getTags(m!.datasets.shipments!.restricted!.files[0]!.key)).toMatchObject({
        layer: 'restricted',
        domain: 'fulfillment',
      });
    },
  );

  it('derive order state in event time, whatever order events arrived in', async () => {
    const [row] = await queryCurated<{ bad: number; paid: number }>(
      platform,
      `SELECT count(*) FILTER (WHERE status = 'paid' AND paid_at IS NULL) AS bad, count(*) FILTER (WHERE status =
        'paid') AS paid FROM o`,
      { o: ['sales', 'orders'] },
    );
    expect(Number(row!.bad)).toBe(0);
    expect(Number(row!.paid)).toBeGreaterThan(100);
    expect(runs.sales!.accounting.find((a) => a.source === 'order_events')!.lateArrivals).toBeGreaterThan(0);
  });

  it('carry the cross-domain signal on purpose: after a late delivery, customers buy less', async () => {
    const rows = await queryCurated<{ is_late: boolean; deliveries: number; next30: number }>(
      platform,
      `WITH d AS (
         SELECT s.is_late, o.customer_id, s.delivered_at FROM s JOIN o USING (order_id)
         WHERE s.delivered_at IS NOT NULL AND s.delivered_at < TIMESTAMP '2026-10-01')
       SELECT d.is_late, count(DISTINCT d.delivered_at || d.customer_id) AS deliveries,
              count(o2.order_id) / count(DISTINCT d.delivered_at || d.customer_id) AS next30
       FROM d LEFT JOIN o o2 ON o2.customer_id = d.customer_id AND o2.placed_at > d.delivered_at AND o2.placed_at <=
         d.delivered_at + INTERVAL 30 DAY
       GROUP BY d.is_late ORDER BY d.is_late`,
      { s: ['fulfillment', 'shipments'], o: ['sales', 'orders'] },
    );
    const [onTime, late] = rows;
    expect(Number(late!.deliveries)).toBeGreaterThan(50);
    expect(Number(late!.next30)).toBeLessThan(0.7 * Number(onTime!.next30));
  });

  it(
    'are idempotent: a rerun with nothing new publishes nothing, and a full rerun publishes byte-identical curated ' +
      'data',
    async () => {
      const sales = selectDomains(platform.config.domainsDir, ['sales'])[0]!;
      const noop = await runDomainPipeline(platform, sales);
      expect(noop).toMatchObject({ status: 'succeeded', mode: 'incremental', unchanged: true });
      expect(noop.quality, 'the results of the version serving').toEqual(runs.sales!.quality);
      expect((await currentManifest(platform, 'sales'))!.runId).toBe(runs.sales!.runId);
      const again = await runDomainPipeline(platform, sales, { full: true });
      expect(again).toMatchObject({ mode: 'full', modeReason: '--full' });
      const files = (r: RunRecord) => r.datasets.map((d) => [d.name, d.sha256, d.files.map((f) => f.key)]);
      expect(files(again)).toEqual(files(runs.sales!));
      expect(again.quarantine.map((q) => q.sha256)).toEqual(runs.sales!.quarantine.map((q) => q.sha256));
      expect((await currentManifest(platform, 'sales'))!.runId).toBe(again.runId);
    },
  );

  it('store a run record per run, newest first', async () => {
    const recent = await recentRuns(platform, 'sales', 5);
    expect(recent.length).toBeGreaterThanOrEqual(2);
    expect(recent[0]!.startedAt >= recent[1]!.startedAt).toBe(true);
    expect(recent[0]!.quality.length).toBeGreaterThan(20);
  });
});

/** A copy of the domain folders, edited, on the same data: how a domain team's change would run. */
function editedDomains(edit: (dir: string) => void): Platform<RecordingLineage> {
  const dir = tempDir('domains-');
  fs.cpSync(platform.config.domainsDir, dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  edit(dir);
  return recordingPlatform(
    loadConfig({ MESH_DATA_DIR: platform.config.dataDir, MESH_DOMAINS_DIR: dir, MESH_LOG_LEVEL: 'silent' }),
    platform.store,
  );
}

/** The parts of a contract these tests edit. */
interface EditableContract {
  schema: [{ quality: Record<string, unknown>[] }];
}

function editContract(dir: string, domain: string, change: (c: EditableContract) => void): void {
  const file = path.join(dir, domain, 'contract.odcs.yaml');
  const c = parse(fs.readFileSync(file, 'utf8'));
  change(c);
  fs.writeFileSync(file, stringify(c));
}

describe('the quality gate', () => {
  it('keeps the previous version current and fails loudly naming the rule, when a blocking rule fails', async () => {
    const before = await currentManifest(platform, 'catalog');
    const edited = editedDomains((dir) =>
      editContract(dir, 'catalog', (c) =>
        c.schema[0].quality.push({
          type: 'library',
          metric: 'rowCount',
          mustBeGreaterThan: 1_000_000_000,
          severity: 'error',
          name: 'absurd volume',
        }),
      ),
    );
    const catalog = selectDomains(edited.config.domainsDir, ['catalog'])[0]!;
    const err = await runDomainPipeline(edited, catalog).catch((e: unknown) => e);
    expect(isMeshError(err, 'QUALITY_GATE_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/absurd volume/);
    // The failed run's OpenLineage events: START, then FAIL with the error facet naming the rule, both valid.
    const events = edited.lineage.events.filter((e) => e.job.name === 'pipeline.catalog');
    expect(events.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
    expect((events[1]!.run.facets!.errorMessage as unknown as { message: string }).message).toMatch(/absurd volume/);
    const validate = openLineageValidator();
    expect(events.flatMap(validate)).toEqual([]);
    expect(await currentManifest(platform, 'catalog')).toEqual(before);
    const [last] = await recentRuns(platform, 'catalog', 1);
    expect(last).toMatchObject({ status: 'failed', error: { code: 'QUALITY_GATE_FAILED' } });
  });

  it('lets a failing warning through, recorded as not passed', async () => {
    const edited = editedDomains((dir) =>
      editContract(dir, 'catalog', (c) =>
        c.schema[0].quality.push({
          type: 'library',
          metric: 'rowCount',
          mustBeGreaterThan: 1_000_000_000,
          severity: 'warning',
          name: 'volume hope',
        }),
      ),
    );
    const r = await runDomainPipeline(edited, selectDomains(edited.config.domainsDir, ['catalog'])[0]!);
    expect(r.status).toBe('succeeded');
    expect(r.quality.find((q) => q.rule === 'volume hope')).toMatchObject({ passed: false, blocking: false });
  });

  it('refuses a curated dataset that drifts from its contract, naming the column', async () => {
    const edited = editedDomains((dir) => {
      const sql = path.join(dir, 'campaigns', 'pipeline', 'campaigns.sql');
      fs.writeFileSync(
        sql,
        fs.readFileSync(sql, 'utf8').replace('budget_eur,', 'CAST(budget_eur AS VARCHAR) AS budget_eur,'),
      );
    });
    const err = await runDomainPipeline(edited, selectDomains(edited.config.domainsDir, ['campaigns'])[0]!).catch(
      (e: unknown) => e,
    );
    expect(isMeshError(err, 'CONTRACT_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/budget_eur is VARCHAR/);
  });
});
