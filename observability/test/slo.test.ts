import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { startMesh } from '../../gateway/inProcessMesh.js';
import { bearer, gql } from '../../gateway/test/mesh.js';
import { freePort, SMALL, tempDir, testPlatform } from '../../test/helpers.js';
import { grafanaDashboard, loadSlos, prometheusConfig, prometheusRules } from '../slo.js';

// Customers with orders, their items, shipments, payments and campaigns: every domain's subgraph is fetched.
const EVERY_DOMAIN =
  '{ customers(first: 30) { edges { node { id orders(first: 2) { items { product { name } } shipments { carrier } ' +
  'payments { method } attributedCampaign { name } } campaignTouches(first: 1) { converted } } } } }';

const slos = loadSlos(listDomains(path.join(REPO_ROOT, 'subgraphs')));

/** promtool and prometheus come from Debian's `prometheus` package: skipped loudly without it, a failure under CI. */
function hasPrometheus(): boolean {
  if (spawnSync('sh', ['-c', 'command -v promtool && command -v prometheus']).status === 0) return true;
  if (process.env.CI) throw new Error('promtool/prometheus are missing: CI must install the prometheus package');
  console.warn(
    '\n\n!!! SKIPPING Prometheus checks: promtool/prometheus not on PATH (apt-get install -y prometheus) !!!\n\n',
  );
  return false;
}

describe('SLOs from contracts', () => {
  it("reads each data product's freshness, latency and availability", () => {
    expect(slos.find((s) => s.domain === 'sales')).toEqual({
      domain: 'sales',
      dataProduct: 'sales',
      freshnessHours: 24,
      frequencyHours: 1,
      latencyP99Ms: 300,
      availability: 0.995,
    });
    expect(slos.find((s) => s.domain === 'catalog')).toMatchObject({ freshnessHours: 192, latencyP99Ms: 200 });
  });

  it('generates rules and a config that promtool accepts, and alerts that fire on the right series', (ctx) => {
    if (!hasPrometheus()) return ctx.skip();
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'rules.yml'), stringify(prometheusRules(slos)));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      stringify(prometheusConfig([{ job: 'mesh', targets: ['127.0.0.1:4000'] }], 'rules.yml')),
    );
    const rules = spawnSync('promtool', ['check', 'rules', path.join(dir, 'rules.yml')], { encoding: 'utf8' });
    expect(rules.status, rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const config = spawnSync('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(config.status, config.stderr).toBe(0);
    // Unit tests of the generated rules: stale sales data pages; a 50% error rate burns payments' budget fast.
    fs.writeFileSync(
      path.join(dir, 'tests.yml'),
      stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              { series: 'mesh_data_product_age_seconds{domain="sales"}', values: '90000+60x30' },
              { series: 'mesh_data_product_age_seconds{domain="catalog"}', values: '90000+60x30' },
              { series: 'mesh_subgraph_fetches_total{subgraph="payments",outcome="ok"}', values: '0+60x90' },
              { series: 'mesh_subgraph_fetches_total{subgraph="payments",outcome="error"}', values: '0+60x90' },
              { series: 'mesh_subgraph_fetches_total{subgraph="sales",outcome="ok"}', values: '0+60x90' },
              // The scheduler: fulfillment's last run failed; sales' last run ended at t=0 and nothing since.
              { series: 'mesh_job_last_run_success{mesh_job="schedule",domain="fulfillment"}', values: '0x200' },
              { series: 'mesh_job_last_run_success{mesh_job="schedule",domain="sales"}', values: '1x200' },
              { series: 'mesh_job_last_run_timestamp_seconds{mesh_job="schedule",domain="sales"}', values: '0x200' },
            ],
            alert_rule_test: [
              {
                eval_time: '10m',
                alertname: 'DataProductScheduledRunFailed',
                exp_alerts: [
                  {
                    exp_labels: { domain: 'fulfillment', data_product: 'fulfillment', severity: 'ticket' },
                    exp_annotations: {
                      summary:
                        'fulfillment: the last scheduled pipeline run failed after its retries; the previous version ' +
                        'is serving',
                    },
                  },
                ],
              },
              { eval_time: '100m', alertname: 'DataProductScheduleStalled', exp_alerts: [] },
              {
                eval_time: '190m',
                alertname: 'DataProductScheduleStalled',
                exp_alerts: [
                  {
                    exp_labels: { domain: 'sales', data_product: 'sales', severity: 'ticket' },
                    exp_annotations: {
                      summary:
                        'sales: no scheduled run for twice its 1 h update frequency (paused, or the scheduler is down)',
                    },
                  },
                ],
              },
              {
                eval_time: '20m',
                alertname: 'DataProductStale',
                exp_alerts: [
                  {
                    exp_labels: { domain: 'sales', data_product: 'sales', severity: 'page' },
                    exp_annotations: { summary: 'sales: curated data older than its 24 h freshness SLO' },
                  },
                ],
              },
              {
                eval_time: '80m',
                alertname: 'DataProductErrorBudgetFastBurn',
                exp_alerts: [
                  {
                    exp_labels: {
                      domain: 'payments',
                      data_product: 'payments',
                      severity: 'page',
                      subgraph: 'payments',
                    },
                    exp_annotations: {
                      summary: 'payments: error budget of the 99.9% availability SLO burning 14.4x too fast',
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const unit = spawnSync('promtool', ['test', 'rules', path.join(dir, 'tests.yml')], { encoding: 'utf8' });
    expect(unit.status, `${unit.stdout}${unit.stderr}`).toBe(0);
  });

  it('generates a Grafana dashboard with a row per data product and a platform row over existing metrics', () => {
    const d = grafanaDashboard(slos);
    const rows = d.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual([...slos.map((s) => `${s.domain} (${s.dataProduct})`), 'platform']);
    const panels = d.panels.filter((p) => p.type !== 'row') as {
      targets: { expr: string }[];
      gridPos: { x: number; y: number; w: number; h: number };
    }[];
    expect(panels).toHaveLength(6 * slos.length + 10);
    for (const p of panels) {
      expect(p.targets[0]!.expr).toMatch(/mesh[:_]/);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    // Every series a panel reads exists: a metric some component registers, or a recording rule generated beside it.
    const sources = ['platform', 'products', 'jobs', 'feature-subgraph', 'lineage', 'observability', 'gateway']
      .flatMap((dir) =>
        fs
          .readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.ts') && !f.includes('test'))
          .map((f) => path.join(REPO_ROOT, dir, f)),
      )
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    const registered = new Set([...sources.matchAll(/name: '(mesh_[a-z0-9_]+)'/g)].map((m) => m[1]));
    const recorded = new Set(
      prometheusRules(slos)
        .groups.flatMap((g) => g.rules.map((r) => r.record as string | undefined))
        .filter(Boolean),
    );
    for (const p of panels) {
      for (const [series] of p.targets[0]!.expr.matchAll(/mesh[:_][a-z0-9_:]+/g)) {
        const ok = series.includes(':')
          ? recorded.has(series)
          : registered.has(series.replace(/_(bucket|sum|count)$/, ''));
        expect(ok, `${series} in "${p.targets[0]!.expr}"`).toBe(true);
      }
    }
  });
});

describe('a real Prometheus scraping a running mesh', () => {
  it('answers a freshness and an availability query per domain', async (ctx) => {
    if (!hasPrometheus()) return ctx.skip();
    // No response cache: Prometheus must see the subgraph fetches the repeated queries make.
    // Data time a month after SMALL's extraction (2026-11-01): every product is past its freshness SLO.
    const platform = testPlatform({ MESH_RESPONSE_CACHE_ENTRIES: '0', MESH_NOW: '2026-12-01T00:00:00.000Z' });
    await generateMarketplace(platform.store, SMALL);
    for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
    const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
    const dir = tempDir();
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'rules.yml'), stringify(prometheusRules(slos)));
    const targets = [
      { job: 'mesh-gateway', targets: [new URL(mesh.gateway.url).host] },
      { job: 'mesh-subgraphs', targets: mesh.subgraphs.map((s) => new URL(s.url).host) },
    ];
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify(prometheusConfig(targets, 'rules.yml', '1s')));
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(
        () => undefined,
      );
      return res?.ok
        ? ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } })
            .data.result
        : [];
    };
    try {
      const auth = await bearer(platform, 'analyst');
      let fresh: Awaited<ReturnType<typeof query>> = [];
      let availability: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 120 && (fresh.length < 5 || availability.length < 5); i++) {
        await gql(mesh.gateway.url, EVERY_DOMAIN, {}, auth);
        await new Promise((r) => setTimeout(r, 500));
        fresh = await query('mesh_data_product_age_seconds');
        availability = await query('1 - mesh:subgraph_fetch_errors:ratio_rate5m');
      }
      expect(new Set(fresh.map((r) => r.metric.domain)), log).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      // SMALL data was extracted at 2026-11-01: the age is on the data clock, in seconds.
      for (const r of fresh) expect(Number(r.value[1])).toBeGreaterThan(3600);
      expect(new Set(availability.map((r) => r.metric.subgraph))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      for (const r of availability) expect(Number(r.value[1])).toBe(1);
      const alerts = await query('ALERTS{alertname="DataProductStale"}');
      expect(alerts.map((a) => a.metric.domain).length).toBeGreaterThan(0);
      // The gateway also exposes the pipelines' last runs (batch jobs end before any scrape), its own SLO evaluation
      // and the cost allocation.
      let accounted: Awaited<ReturnType<typeof query>> = [];
      let breached: Awaited<ReturnType<typeof query>> = [];
      let cost: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 60 && (accounted.length < 5 || breached.length < 5 || cost.length < 6); i++) {
        accounted = await query(
          'sum by (domain) (mesh_pipeline_records{stage="in"}) - sum by (domain) ' +
            '(mesh_pipeline_records{stage=~"curated|quarantined|duplicate"})',
        );
        breached = await query('mesh_slo_state{state="BREACHED"} == 1');
        cost = await query('mesh_cost_dollars{item="total"}');
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(accounted.map((r) => [r.metric.domain, Number(r.value[1])]).sort(), log).toEqual(
        ['campaigns', 'catalog', 'fulfillment', 'payments', 'sales'].map((d) => [d, 0]),
      );
      // Stale data (a month old on the data clock) breaks every product's freshness SLO, in the gateway's own
      // evaluation too.
      expect(new Set(breached.map((r) => r.metric.domain))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      expect(new Set(cost.map((r) => r.metric.domain))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments', 'platform']),
      );
      for (const r of cost) expect(Number(r.value[1])).toBeGreaterThan(0);
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((r) => prometheus.once('exit', r));
      await mesh.close();
    }
  });
});
