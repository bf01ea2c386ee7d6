import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { grafanaDashboard, loadSlos, prometheusConfig, prometheusRules } from '../slo.js';
import { hasPrometheus, tempDir } from '../../platform/test/helpers.js';

const slos = loadSlos(listDomains(path.join(REPO_ROOT, 'subgraphs')));

describe('SLOs from contracts', () => {
  it("reads each data product's freshness, latency and availability", () => {
    expect(slos.find((s) => s.domain === 'sales')).toEqual({
      domain: 'sales',
      dataProduct: 'sales',
      freshnessHours: 24,
      streamFreshness: { quantile: 0.99, seconds: 900 },
      frequencyHours: 1,
      latencyP99Ms: 300,
      availability: 0.999,
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
              // Stream consumers: sales' lag grows (stopped); another's falls (catching up), so it does not alert.
              {
                series: 'mesh_stream_consumer_lag_messages{domain="sales",source="order_events"}',
                values: '100+100x60',
              },
              { series: 'mesh_stream_consumer_lag_messages{domain="campaigns",source="clicks"}', values: '6000-90x60' },
              // Sales' batches: p99 of 2 min for 20 minutes, then 20 min for 30 (the p50 stays low).
              {
                series: 'mesh_stream_freshness_seconds{domain="sales",source="order_events",quantile="0.99"}',
                values: '120x20 1200x30',
              },
              {
                series: 'mesh_stream_freshness_seconds{domain="sales",source="order_events",quantile="0.5"}',
                values: '30x50',
              },
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
              { eval_time: '20m', alertname: 'DataProductStreamFreshnessBreached', exp_alerts: [] },
              // Over since minute 21: pending for 10 minutes, firing from minute 31.
              { eval_time: '28m', alertname: 'DataProductStreamFreshnessBreached', exp_alerts: [] },
              {
                eval_time: '35m',
                alertname: 'DataProductStreamFreshnessBreached',
                exp_alerts: [
                  {
                    exp_labels: { domain: 'sales', data_product: 'sales', severity: 'page' },
                    exp_annotations: {
                      summary: 'sales: stream events take longer than 15 min to be queryable (p99 freshness SLO)',
                    },
                  },
                ],
              },
              {
                eval_time: '30m',
                alertname: 'DataProductStreamConsumerLagging',
                exp_alerts: [
                  {
                    exp_labels: { domain: 'sales', source: 'order_events', severity: 'ticket' },
                    exp_annotations: { summary: 'sales/order_events: the stream consumer lags and is not catching up' },
                  },
                ],
              },
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
