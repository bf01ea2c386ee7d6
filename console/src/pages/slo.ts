import { getJson } from '../api.js';
import { h, badge, card, table, hours, percent, when } from '../ui.js';
import { lineChart } from '../charts.js';
import type { DomainSloStatus, SloPoint } from '../../../observability/index.js';
import type { ProcessState } from '../../../platform/index.js';
import type { DomainScheduleStatus } from '../../../jobs/index.js';

export interface SloReport {
  evaluatedAt: string;
  domains: DomainSloStatus[];
  history: Record<string, SloPoint[]>;
  /** The supervised processes serving the subgraphs (absent when the gateway runs them in its own process). */
  processes?: ProcessState[];
  /** Each domain's scheduled pipeline runs. */
  schedule: DomainScheduleStatus[];
}

const ms = (n: number | null) => (n === null ? '—' : `${n.toFixed(n < 10 ? 1 : 0)} ms`);
const rate = (n: number | null) => (n === null ? '—' : `${n.toFixed(2)}x`);

export async function sloPage(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const draw = async () => {
    const report = await getJson<SloReport>('/console/api/slo');
    if (signal.aborted) return;
    root.replaceChildren(
      h('h2', {}, 'Service levels'),
      h(
        'p',
        { class: 'muted' },
        "From each domain's contract; evaluated by this gateway from its calls to the subgraphs and the curated " +
          `manifests. ${when(report.evaluatedAt)}, refreshed every 15 s.`,
      ),
      h('div', { class: 'grid' }, report.domains.map(domainCard)),
      ...(report.processes ? [h('h3', {}, 'Processes'), processTable(report.processes)] : []),
      h('h3', {}, 'Scheduled runs'),
      scheduleTable(report.schedule),
      h('h3', {}, 'History'),
      h('div', { class: 'grid' }, charts(report)),
    );
  };
  await draw();
  const timer = setInterval(() => void draw().catch(() => undefined), 15_000);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function domainCard(d: DomainSloStatus): HTMLElement {
  const a = d.availability;
  return card(
    h('span', {}, `${d.dataProduct} `, badge(d.state, { 'data-testid': `slo-state-${d.domain}` })),
    d.dataProduct !== d.domain ? h('div', { class: 'muted' }, `domain ${d.domain}`) : null,
    d.reasons.length
      ? h(
          'ul',
          { class: 'reasons', 'data-testid': `slo-reasons-${d.domain}` },
          d.reasons.map((r) => h('li', {}, r)),
        )
      : h('p', { class: 'ok-text' }, 'Every promise kept.'),
    table(
      ['', 'Objective', 'Now'],
      [
        [
          'Availability',
          percent(a.objective),
          `5m ${percent(a.windows['5m'])} · 1h ${percent(a.windows['1h'])} · 6h ${percent(a.windows['6h'])}`,
        ],
        [
          'Burn rate',
          '1x',
          `5m ${rate(a.burnRate['5m'])} · 1h ${rate(a.burnRate['1h'])} · 6h ${rate(a.burnRate['6h'])}`,
        ],
        [
          'Error budget left',
          '',
          h(
            'span',
            { 'data-testid': `slo-budget-${d.domain}` },
            a.budgetRemaining !== null && a.budgetRemaining < 0
              ? h('span', { class: 'bad-text' }, 'exhausted')
              : percent(a.budgetRemaining, 1),
            ` (${a.requests} calls)`,
          ),
        ],
        ['Latency p99 (5m)', ms(d.latency.objectiveMs), ms(d.latency.p99Ms)],
        [
          'Data age',
          hours(d.freshness.objectiveHours),
          h('span', { 'data-testid': `slo-age-${d.domain}` }, hours(d.freshness.ageHours)),
        ],
        ...(d.freshness.stream ? [streamRow(d.domain, d.freshness.stream)] : []),
      ],
    ),
  );
}

/** Event freshness of a stream-fed product over the last hour's batches. */
function streamRow(domain: string, s: NonNullable<DomainSloStatus['freshness']['stream']>): (string | HTMLElement)[] {
  const seconds = (n: number | null) => (n === null ? '—' : `${n.toFixed(1)} s`);
  return [
    'Stream freshness (1h)',
    `p${s.quantile * 100} ≤ ${seconds(s.objectiveSeconds)}`,
    h(
      'span',
      { 'data-testid': `slo-stream-${domain}` },
      s.batches === 0
        ? 'no stream batch'
        : `p50 ${seconds(s.p50Seconds)} · p99 ${seconds(s.p99Seconds)} (${s.batches} batches, ${s.events} events)`,
    ),
  ];
}

function processTable(processes: ProcessState[]): HTMLElement {
  return table(
    ['Process', 'State', 'Since', 'Restarts', 'Last exit'],
    processes.map((p) => [
      p.name,
      badge(p.phase, { 'data-testid': `process-${p.name}` }),
      when(p.since),
      String(p.restarts),
      p.lastExit ? `${p.lastExit.signal ?? `code ${p.lastExit.code}`} ${when(p.lastExit.at)}` : '—',
    ]),
  );
}

function scheduleTable(schedule: DomainScheduleStatus[]): HTMLElement {
  const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
  return table(
    ['Domain', 'Schedule (UTC)', 'State', 'Last run', 'Outcome', 'Duration', 'Next run', 'Data as of', 'Kept history'],
    schedule.map((s) => [
      s.domain,
      h('code', {}, s.cron),
      s.paused ? badge('paused') : badge('active'),
      s.lastRun ? when(s.lastRun.startedAt) : '—',
      s.lastRun
        ? h(
            'span',
            { 'data-testid': `schedule-outcome-${s.domain}` },
            badge(s.lastRun.outcome),
            s.lastRun.published === false ? ' nothing new' : '',
            s.lastRun.attempts > 1 ? ` (${s.lastRun.attempts} attempts)` : '',
            s.lastRun.error ? ` ${s.lastRun.error.code}` : '',
          )
        : '—',
      seconds(s.lastRun?.durationMs),
      s.nextRun ? when(s.nextRun) : '—',
      s.watermark ? when(s.watermark) : '—',
      `${s.succeeded} ok, ${s.failed} failed`,
    ]),
    { 'data-testid': 'schedule' },
  );
}

function charts(report: SloReport): HTMLElement[] {
  const domains = Object.keys(report.history);
  const longest = domains
    .map((d) => report.history[d]!)
    .reduce((a, b) => (b.length > a.length ? b : a), [] as SloPoint[]);
  if (longest.length < 2) return [h('p', { class: 'muted' }, 'Charts appear after two evaluation intervals.')];
  const x = longest.map((p) => Date.parse(p.t) / 1000);
  const at = (d: string, pick: (p: SloPoint) => number | null) => {
    const byTime = new Map(report.history[d]!.map((p) => [p.t, pick(p)]));
    return longest.map((p) => byTime.get(p.t) ?? null);
  };
  return [
    lineChart(
      'Error budget left (floored at -100%)',
      x,
      domains.map((d) => ({
        label: d,
        values: at(d, (p) => (p.budgetRemaining === null ? null : Math.max(p.budgetRemaining, -1) * 100)),
      })),
      '%',
    ),
    lineChart(
      'p99 latency per interval',
      x,
      domains.map((d) => ({ label: d, values: at(d, (p) => p.p99Ms) })),
      'ms',
    ),
    lineChart(
      'Calls per interval',
      x,
      domains.map((d) => ({ label: d, values: at(d, (p) => p.requests) })),
      'calls',
    ),
  ];
}
