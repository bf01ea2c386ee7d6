import type { DomainInfo } from '../platform/index.js';
import { loadContract, slaHours, slaPercentile } from '../governance/index.js';

/** A data product's promises, from the `slaProperties` of its contract. */
export interface DomainSlo {
  domain: string;
  dataProduct: string;
  freshnessHours?: number;
  /** Stream-fed products: the share of events (`quantile`) queryable within `seconds` of their time. */
  streamFreshness?: { quantile: number; seconds: number };
  /** How often the product is updated (its pipeline's schedule): a scheduler silent for twice as long has stalled. */
  frequencyHours?: number;
  latencyP99Ms?: number;
  /** Fraction, e.g. 0.995. */
  availability?: number;
}

export function loadSlos(domains: DomainInfo[]): DomainSlo[] {
  return domains.map((d) => {
    const contract = loadContract(d.contractFile, d.name);
    const sla = new Map((contract.slaProperties ?? []).map((s) => [s.property, s]));
    const latency = sla.get('latency');
    const availability = sla.get('availability');
    return {
      domain: d.name,
      dataProduct: contract.dataProduct,
      freshnessHours: slaHours(contract, 'freshness'),
      streamFreshness: slaPercentile(contract, 'freshness'),
      frequencyHours: slaHours(contract, 'frequency'),
      latencyP99Ms: latency ? Number(latency.value) * (latency.unit === 's' ? 1000 : 1) : undefined,
      // Rounded: 99.9 / 100 is 0.9990000000000001 in binary.
      availability: availability
        ? Number(
            (
              Number(availability.value) / (availability.unit === 'percent' || Number(availability.value) > 1 ? 100 : 1)
            ).toFixed(9),
          )
        : undefined,
    };
  });
}

const WINDOWS = ['5m', '30m', '1h', '6h'] as const;
/** Multi-window, multi-burn-rate alerts (Google SRE workbook): fast burn pages, slow burn opens a ticket. */
const BURNS = [
  { name: 'Fast', long: '1h', short: '5m', factor: 14.4, for: '2m', severity: 'page' },
  { name: 'Slow', long: '6h', short: '30m', factor: 6, for: '15m', severity: 'ticket' },
] as const;

/** Prometheus recording and alerting rules generated from the contracts (the gateway's view of each subgraph). */
export function prometheusRules(slos: DomainSlo[]): {
  groups: { name: string; interval?: string; rules: Record<string, unknown>[] }[];
} {
  const recording = [
    ...WINDOWS.map((w) => ({
      record: `mesh:subgraph_fetch_errors:ratio_rate${w}`,
      // "or … * 0": a subgraph without a single error yet still has a ratio (0), not an empty result.
      expr:
        `(sum by (subgraph) (rate(mesh_subgraph_fetches_total{outcome="error"}[${w}])) or sum by (subgraph) ` +
        `(rate(mesh_subgraph_fetches_total[${w}])) * 0) / sum by (subgraph) (rate(mesh_subgraph_fetches_total[${w}]))`,
    })),
    {
      record: 'mesh:subgraph_fetch_duration_seconds:p99_5m',
      expr: 'histogram_quantile(0.99, sum by (subgraph, le) (rate(mesh_subgraph_fetch_duration_seconds_bucket[5m])))',
    },
    {
      record: 'mesh:graphql_request_duration_seconds:p99_5m',
      expr:
        'histogram_quantile(0.99, sum by (operation, le) ' +
        '(rate(mesh_graphql_request_duration_seconds_bucket{component="gateway"}[5m])))',
    },
    ...slos.flatMap((s) => [
      ...(s.availability !== undefined
        ? [
            {
              record: 'mesh:slo:availability_objective',
              expr: `vector(${s.availability})`,
              labels: { subgraph: s.domain },
            },
          ]
        : []),
      ...(s.availability !== undefined
        ? [
            {
              record: 'mesh:slo:error_budget_burn_rate1h',
              expr: `mesh:subgraph_fetch_errors:ratio_rate1h{subgraph="${s.domain}"} / ${round(1 - s.availability)}`,
              labels: { subgraph: s.domain },
            },
          ]
        : []),
    ]),
  ];
  const alerts = slos.flatMap((s) => {
    const labels = { domain: s.domain, data_product: s.dataProduct };
    const out: Record<string, unknown>[] = [];
    if (s.availability !== undefined) {
      const budget = round(1 - s.availability);
      for (const b of BURNS) {
        out.push({
          alert: `DataProductErrorBudget${b.name}Burn`,
          expr:
            `mesh:subgraph_fetch_errors:ratio_rate${b.long}{subgraph="${s.domain}"} > (${b.factor} * ${budget}) ` +
            `and mesh:subgraph_fetch_errors:ratio_rate${b.short}{subgraph="${s.domain}"} > (${b.factor} * ${budget})`,
          for: b.for,
          labels: { ...labels, severity: b.severity },
          annotations: {
            summary:
              `${s.domain}: error budget of the ${s.availability * 100}% availability SLO burning ${b.factor}x ` +
              `too fast`,
          },
        });
      }
    }
    if (s.latencyP99Ms !== undefined) {
      out.push({
        alert: 'DataProductLatencySloBreached',
        expr: `mesh:subgraph_fetch_duration_seconds:p99_5m{subgraph="${s.domain}"} > ${s.latencyP99Ms / 1000}`,
        for: '10m',
        labels: { ...labels, severity: 'ticket' },
        annotations: { summary: `${s.domain}: p99 latency above ${s.latencyP99Ms} ms` },
      });
    }
    // The embedded scheduler's runs (job metrics): a failed run keeps the previous version serving, so say it.
    out.push({
      alert: 'DataProductScheduledRunFailed',
      expr: `max(mesh_job_last_run_success{mesh_job="schedule",domain="${s.domain}"}) == 0`,
      labels: { ...labels, severity: 'ticket' },
      annotations: {
        summary:
          `${s.domain}: the last scheduled pipeline run failed after its retries; the previous version is ` + `serving`,
      },
    });
    if (s.frequencyHours !== undefined) {
      out.push({
        alert: 'DataProductScheduleStalled',
        expr:
          `time() - max(mesh_job_last_run_timestamp_seconds{mesh_job="schedule",domain="${s.domain}"}) ` +
          `> ${2 * s.frequencyHours * 3600}`,
        for: '5m',
        labels: { ...labels, severity: 'ticket' },
        annotations: {
          summary:
            `${s.domain}: no scheduled run for twice its ${s.frequencyHours} h update frequency (paused, or the ` +
            `scheduler is down)`,
        },
      });
    }
    if (s.freshnessHours !== undefined) {
      out.push({
        alert: 'DataProductStale',
        expr: `max(mesh_data_product_age_seconds{domain="${s.domain}"}) > ${s.freshnessHours * 3600}`,
        for: '15m',
        labels: { ...labels, severity: 'page' },
        annotations: { summary: `${s.domain}: curated data older than its ${s.freshnessHours} h freshness SLO` },
      });
    }
    if (s.streamFreshness !== undefined) {
      const q = s.streamFreshness.quantile;
      out.push({
        alert: 'DataProductStreamFreshnessBreached',
        // Batches publish their p50 and p99: the objective's quantile is judged on the p99 (an upper bound for any
        // quantile up to it). Ten minutes over is not one slow batch.
        expr: `max(mesh_stream_freshness_seconds{domain="${s.domain}",quantile="0.99"}) > ${s.streamFreshness.seconds}`,
        for: '10m',
        labels: { ...labels, severity: 'page' },
        annotations: {
          summary:
            `${s.domain}: stream events take longer than ${s.streamFreshness.seconds / 60} min to be queryable ` +
            `(p${Math.round(q * 1000) / 10} freshness SLO)`,
        },
      });
    }
    return out;
  });
  // A stream consumer that lags and is not catching up: each run lands one bounded batch, so lag that stays above zero
  // and does not fall for 15 minutes means runs fail, stall or cannot keep pace with the producers.
  alerts.push({
    alert: 'DataProductStreamConsumerLagging',
    expr:
      'min_over_time(mesh_stream_consumer_lag_messages[15m]) > 0 ' +
      'and deriv(mesh_stream_consumer_lag_messages[15m]) >= 0',
    labels: { severity: 'ticket' },
    annotations: {
      summary: '{{ $labels.domain }}/{{ $labels.source }}: the stream consumer lags and is not catching up',
    },
  });
  return {
    groups: [
      { name: 'mesh-slo-recording', rules: recording },
      { name: 'mesh-slo-alerts', rules: alerts },
    ],
  };
}

/** A Prometheus configuration scraping every server of the mesh, with the generated rules. */
export function prometheusConfig(targets: { job: string; targets: string[] }[], rulesFile: string, interval = '15s') {
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [rulesFile],
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: '/metrics',
      static_configs: [{ targets: t.targets }],
    })),
  };
}

/** A Grafana dashboard generated from the same contracts: one row per data product, and a platform row. */
export function grafanaDashboard(slos: DomainSlo[]) {
  let id = 0;
  let y = 0;
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const panel = (title: string, expr: string, unit: string, threshold?: number) => ({
    id: ++id,
    type: 'timeseries',
    title,
    datasource: ds,
    gridPos: { x: ((id - 1) % 3) * 8, y, w: 8, h: 7 },
    fieldConfig: {
      defaults: {
        unit,
        ...(threshold !== undefined
          ? {
              thresholds: {
                mode: 'absolute',
                steps: [
                  { color: 'green', value: null },
                  { color: 'red', value: threshold },
                ],
              },
            }
          : {}),
      },
      overrides: [],
    },
    targets: [{ refId: 'A', datasource: ds, expr }],
  });
  const row = (title: string, panels: ReturnType<typeof panel>[]) => {
    const r = { id: ++id, type: 'row', title, collapsed: false, gridPos: { x: 0, y: y++, w: 24, h: 1 }, panels: [] };
    const placed = panels.map((p, i) => ({ ...p, gridPos: { ...p.gridPos, x: (i % 3) * 8, y } }));
    y += 7 * Math.ceil(panels.length / 3);
    return [r, ...placed];
  };
  const panels = [
    ...slos.flatMap((s) =>
      row(`${s.domain} (${s.dataProduct})`, [
        panel(
          `${s.domain}: availability (objective ${s.availability !== undefined ? `${s.availability * 100}%` : 'none'})`,
          `1 - mesh:subgraph_fetch_errors:ratio_rate5m{subgraph="${s.domain}"}`,
          'percentunit',
          s.availability,
        ),
        panel(
          `${s.domain}: p99 latency (SLO ${s.latencyP99Ms ?? '-'} ms)`,
          `mesh:subgraph_fetch_duration_seconds:p99_5m{subgraph="${s.domain}"}`,
          's',
          s.latencyP99Ms !== undefined ? s.latencyP99Ms / 1000 : undefined,
        ),
        panel(
          `${s.domain}: data age (SLO ${s.freshnessHours ?? '-'} h)`,
          `max(mesh_data_product_age_seconds{domain="${s.domain}"})`,
          's',
          s.freshnessHours !== undefined ? s.freshnessHours * 3600 : undefined,
        ),
        panel(
          `${s.domain}: error budget left (gateway's evaluation)`,
          `mesh_slo_error_budget_remaining_ratio{domain="${s.domain}"}`,
          'percentunit',
        ),
        panel(
          `${s.domain}: last pipeline run, records by stage`,
          `sum by (stage) (mesh_pipeline_records{domain="${s.domain}"})`,
          'short',
        ),
        panel(
          `${s.domain}: allocated cost by item`,
          `mesh_cost_dollars{domain="${s.domain}", item!="total"}`,
          'currencyUSD',
        ),
      ]),
    ),
    ...row('platform', [
      panel(
        'gateway requests by operation',
        'sum by (operation) (rate(mesh_graphql_requests_total{component="gateway"}[5m]))',
        'reqps',
      ),
      panel('gateway p99 latency by operation', 'mesh:graphql_request_duration_seconds:p99_5m', 's'),
      panel('lineage events by transport and outcome', 'sum by (transport, outcome) (mesh_lineage_events)', 'short'),
      panel(
        'online store hit ratio by view',
        'sum by (view) (rate(mesh_online_store_lookups_total{result="hit"}[5m])) / sum by (view) ' +
          '(rate(mesh_online_store_lookups_total[5m]))',
        'percentunit',
      ),
      panel(
        'domain resolvers: keys per DataLoader batch by subgraph, p50',
        'histogram_quantile(0.5, sum by (component, le) (rate(mesh_dataloader_batch_keys_bucket[5m])))',
        'short',
      ),
      panel(
        'online store keys per read (DataLoader batch), p99',
        'histogram_quantile(0.99, sum by (le) (rate(mesh_online_store_read_keys_bucket[5m])))',
        'short',
      ),
      panel(
        'feature values served by status and API',
        'sum by (status, api) (rate(mesh_feature_values_served_total[5m]))',
        'short',
      ),
      panel('batch jobs: last run succeeded', 'mesh_job_last_run_success', 'bool'),
      panel(
        'query load: DuckDB seconds per second by domain',
        'sum by (subgraph) (rate(mesh_subgraph_duckdb_seconds_total[5m]))',
        's',
      ),
      panel(
        'online feature staleness, p99 age of the oldest value per view',
        'histogram_quantile(0.99, sum by (view, le) (rate(mesh_feature_value_age_seconds_bucket[5m])))',
        's',
      ),
    ]),
  ];
  return {
    uid: 'mesh-data-products',
    title: 'Marketplace data mesh: data products',
    tags: ['mesh', 'slo'],
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }] },
    panels,
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
