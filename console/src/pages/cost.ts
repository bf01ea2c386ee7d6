import { getJson } from '../api.js';
import { h, table, dollars, bytes, when } from '../ui.js';
import { stackedBars } from '../charts.js';
import type { CostReport } from '../../../observability/index.js';

export async function costPage(root: HTMLElement): Promise<void> {
  const report = await getJson<CostReport>('/console/api/cost');
  const domains = report.domains;
  const p = report.prices;
  root.replaceChildren(
    h('h2', {}, 'Cost allocation'),
    h(
      'p',
      { class: 'muted' },
      `Since ${when(report.since)} (computed ${when(report.computedAt)}). Unit prices: storage ` +
        `$${p.storageGbMonth}/GB-month, compute $${p.computeHour}/h, $${p.operations1k} per 1,000 operations, online ` +
        `store $${p.onlineGbMonth}/GB-month. The same figures are on /metrics as mesh_cost_dollars.`,
    ),
    stackedBars(
      'Cost per domain (USD)',
      domains.map((d) => d.domain),
      (['storage', 'compute', 'queries', 'online'] as const).map((item) => ({
        label: item,
        values: domains.map((d) => d.cost[item]),
      })),
      'USD',
    ),
    table(
      [
        'Domain',
        'Storage by layer',
        'Compute s',
        'Operations',
        'Online keys',
        'Online memory',
        'Storage',
        'Compute',
        'Queries',
        'Online',
        'Total',
      ],
      domains.map((d) => [
        d.domain,
        Object.entries(d.storageBytes)
          .map(([layer, n]) => `${layer} ${bytes(n)}`)
          .join(', '),
        d.computeSeconds.toFixed(1),
        String(d.operations),
        String(d.onlineKeys),
        bytes(d.onlineBytes),
        dollars(d.cost.storage),
        dollars(d.cost.compute),
        dollars(d.cost.queries),
        dollars(d.cost.online),
        h('strong', { 'data-testid': `cost-total-${d.domain}` }, dollars(d.cost.total)),
      ]),
      { 'data-testid': 'cost' },
    ),
    ...(report.queryLoad ? queryLoad(report.queryLoad) : []),
  );
}

/**
 * The share of the gateway's calls and of the DuckDB time behind them each domain served (since that gateway started).
 */
function queryLoad(load: NonNullable<CostReport['queryLoad']>): HTMLElement[] {
  const rows = Object.entries(load.bySubgraph).sort(([a], [b]) => a.localeCompare(b));
  const fetches = rows.reduce((n, [, r]) => n + r.fetches, 0);
  const seconds = rows.reduce((n, [, r]) => n + r.duckdbSeconds, 0);
  const share = (x: number, of: number) => (of > 0 ? `${((x / of) * 100).toFixed(1)}%` : '—');
  return [
    h('h3', {}, 'Query load served'),
    h(
      'p',
      { class: 'muted' },
      `Calls this gateway made to each subgraph and the DuckDB time they reported, since ${when(load.since)}.`,
    ),
    table(
      ['Subgraph', 'Calls', 'Share of calls', 'DuckDB s', 'Share of DuckDB time'],
      rows.map(([name, r]) => [
        name,
        String(r.fetches),
        share(r.fetches, fetches),
        r.duckdbSeconds.toFixed(3),
        share(r.duckdbSeconds, seconds),
      ]),
      { 'data-testid': 'query-load' },
    ),
  ];
}
