import type { FetchCounts } from '../platform/index.js';
import type { StreamFreshness } from '../products/index.js';
import type { DomainSlo } from './slo.js';

export type SloState = 'OK' | 'AT_RISK' | 'BREACHED' | 'NO_DATA';

export interface DomainSloStatus {
  domain: string;
  dataProduct: string;
  state: SloState;
  /** Why the state is not OK, one line per broken or threatened promise. */
  reasons: string[];
  availability: {
    objective: number | null;
    /** Success ratio per window, null without traffic in it. */
    windows: Record<WindowName, number | null>;
    /** Error ratio ÷ error budget, per window (1 = spending exactly the budget). */
    burnRate: Record<WindowName, number | null>;
    /** Share of the error budget left over everything this evaluator has seen (at most `keep`). */
    budgetRemaining: number | null;
    requests: number;
  };
  latency: { objectiveMs: number | null; p99Ms: number | null };
  freshness: {
    objectiveHours: number | null;
    ageHours: number | null;
    /**
     * Stream-fed products: the objective on event freshness (a percentile) and what the last hour's stream batches
     * measured; null when the contract has none.
     */
    stream: {
      quantile: number;
      objectiveSeconds: number;
      p50Seconds: number | null;
      p99Seconds: number | null;
      batches: number;
      events: number;
    } | null;
  };
}

export interface SloPoint {
  t: string;
  requests: number;
  errorRatio: number | null;
  p99Ms: number | null;
  budgetRemaining: number | null;
}

const WINDOWS = { '5m': 5 * 60_000, '30m': 30 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000 } as const;
type WindowName = keyof typeof WINDOWS;
/** The same multi-window burn thresholds as the generated Prometheus alerts (observability/slo.ts). */
const BURNS = [
  { name: 'fast', long: '1h', short: '5m', factor: 14.4 },
  { name: 'slow', long: '6h', short: '30m', factor: 6 },
] as const;

interface Sample {
  t: number;
  counts: FetchCounts;
}

/**
 * The SLOs of every data product, evaluated continuously in the process that measures them (the gateway): samples of
 * the fetch counters every `intervalMs`, kept for `keepMs`, give success ratios, burn rates and p99 over sliding
 * windows; freshness comes from the curated manifests. Prometheus does the same from the generated rules over longer
 * ranges.
 */
export class SloEvaluator {
  private samples: Sample[] = [];
  private ages = new Map<string, number | null>();
  private streams = new Map<string, StreamFreshness | null>();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly slos: DomainSlo[],
    private readonly read: () => Promise<FetchCounts>,
    private readonly dataAgeHours: () => Promise<Map<string, number | null>>,
    private readonly options: {
      intervalMs?: number;
      keepMs?: number;
      now?: () => number;
      /** Stream freshness of the stream-fed products over the last hour. */
      streamFreshness?: () => Promise<Map<string, StreamFreshness | null>>;
    } = {},
  ) {}

  start(): this {
    // A sample that fails is skipped: the windows span whatever samples there are, and the next interval tries again.
    const sample = () => void this.tick().catch(() => undefined);
    sample();
    this.timer = setInterval(sample, this.options.intervalMs ?? 15_000);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    const t = this.now();
    const [counts, ages, streams] = await Promise.all([
      this.read(),
      this.dataAgeHours().catch(() => this.ages),
      this.options.streamFreshness?.().catch(() => this.streams) ?? this.streams,
    ]);
    this.ages = ages;
    this.streams = streams;
    this.samples.push({ t, counts: structuredClone(counts) });
    const keep = this.options.keepMs ?? 24 * 3_600_000;
    while (this.samples.length > 2 && this.samples[0]!.t < t - keep) this.samples.shift();
  }

  status(): DomainSloStatus[] {
    return this.slos.map((slo) => this.evaluate(slo));
  }

  /**
   * Points for charts, at most `maxPoints` (consecutive intervals merge when there are more): requests, error ratio,
   * p99, budget left.
   */
  history(domain: string, maxPoints = 240): SloPoint[] {
    const slo = this.slos.find((s) => s.domain === domain);
    const first = this.samples[0];
    const stride = Math.max(1, Math.ceil((this.samples.length - 1) / maxPoints));
    const picked = this.samples.filter((_, i) => i % stride === 0 || i === this.samples.length - 1);
    return picked.slice(1).map((s, i) => {
      const d = delta(picked[i]!.counts[domain], s.counts[domain]);
      const all = delta(first?.counts[domain], s.counts[domain]);
      return {
        t: new Date(s.t).toISOString(),
        requests: d.total,
        errorRatio: d.total > 0 ? d.errors / d.total : null,
        p99Ms: quantileMs(d.buckets, 0.99),
        budgetRemaining:
          slo?.availability !== undefined && all.total > 0 ? 1 - all.errors / all.total / (1 - slo.availability) : null,
      };
    });
  }

  private evaluate(slo: DomainSlo): DomainSloStatus {
    const latest = this.samples.at(-1);
    const current = latest?.counts[slo.domain];
    const window = (ms: number) => delta(this.sampleBefore(ms)?.counts[slo.domain], current);
    const budget = slo.availability !== undefined ? 1 - slo.availability : undefined;
    const windows = {} as Record<WindowName, number | null>;
    const burnRate = {} as Record<WindowName, number | null>;
    for (const [name, ms] of Object.entries(WINDOWS) as [WindowName, number][]) {
      const d = window(ms);
      windows[name] = d.total > 0 ? 1 - d.errors / d.total : null;
      burnRate[name] = d.total > 0 && budget ? d.errors / d.total / budget : null;
    }
    const all = delta(this.samples[0]?.counts[slo.domain], current);
    const budgetRemaining = budget && all.total > 0 ? 1 - all.errors / all.total / budget : null;
    const p99Ms = quantileMs(window(WINDOWS['5m']).buckets, 0.99);
    const ageHours = this.ages.get(slo.domain) ?? null;
    const streamed = this.streams.get(slo.domain) ?? null;

    const breached: string[] = [];
    const atRisk: string[] = [];
    if (slo.freshnessHours !== undefined && ageHours !== null && ageHours > slo.freshnessHours)
      breached.push(`data is ${age(ageHours)} old, freshness SLO ${age(slo.freshnessHours)}`);
    if (slo.streamFreshness && streamed && streamed.p99Seconds > slo.streamFreshness.seconds)
      breached.push(
        `stream events took up to ${fmt(streamed.p99Seconds)} s to be queryable over the last hour (batch p99), ` +
          `freshness SLO p${fmt(slo.streamFreshness.quantile * 100)} ${fmt(slo.streamFreshness.seconds)} s`,
      );
    if (slo.latencyP99Ms !== undefined && p99Ms !== null && p99Ms > slo.latencyP99Ms)
      breached.push(`p99 ${fmt(p99Ms)} ms over the last 5 min, latency SLO ${slo.latencyP99Ms} ms`);
    if (budgetRemaining !== null && budgetRemaining <= 0)
      breached.push(`error budget of the ${pct(slo.availability!)} availability SLO exhausted`);
    for (const b of BURNS) {
      const long = burnRate[b.long];
      const short = burnRate[b.short];
      if (long !== null && short !== null && long > b.factor && short > b.factor)
        atRisk.push(`${b.name} burn: ${fmt(long)}x the error budget over ${b.long}`);
    }
    if (budgetRemaining !== null && budgetRemaining > 0 && budgetRemaining < 0.25)
      atRisk.push(`${pct(budgetRemaining)} of the error budget left`);
    const noData = all.total === 0 && ageHours === null;
    return {
      domain: slo.domain,
      dataProduct: slo.dataProduct,
      state: breached.length > 0 ? 'BREACHED' : atRisk.length > 0 ? 'AT_RISK' : noData ? 'NO_DATA' : 'OK',
      reasons: [...breached, ...atRisk],
      availability: { objective: slo.availability ?? null, windows, burnRate, budgetRemaining, requests: all.total },
      latency: { objectiveMs: slo.latencyP99Ms ?? null, p99Ms },
      freshness: {
        objectiveHours: slo.freshnessHours ?? null,
        ageHours: ageHours === null ? null : Math.round(ageHours * 10) / 10,
        stream: slo.streamFreshness
          ? {
              quantile: slo.streamFreshness.quantile,
              objectiveSeconds: slo.streamFreshness.seconds,
              p50Seconds: streamed?.p50Seconds ?? null,
              p99Seconds: streamed?.p99Seconds ?? null,
              batches: streamed?.batches ?? 0,
              events: streamed?.events ?? 0,
            }
          : null,
      },
    };
  }

  /** The newest sample at least `ms` old: windows start at a real sample (the oldest one when history is shorter). */
  private sampleBefore(ms: number): Sample | undefined {
    const from = this.now() - ms;
    return this.samples.findLast((s) => s.t <= from) ?? this.samples[0];
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

function delta(
  before: FetchCounts[string] | undefined,
  after: FetchCounts[string] | undefined,
): { total: number; errors: number; buckets: { le: number; count: number }[] } {
  if (!after) return { total: 0, errors: 0, buckets: [] };
  return {
    total: after.total - (before?.total ?? 0),
    errors: after.errors - (before?.errors ?? 0),
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before?.buckets[i]?.count ?? 0) })),
  };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
export function quantileMs(buckets: { le: number; count: number }[], q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lower * 1000;
      return (lower + ((b.le - lower) * (rank - below)) / Math.max(b.count - below, 1)) * 1000;
    }
    lower = b.le;
    below = b.count;
  }
  return lower * 1000;
}

const age = (hours: number) => (hours >= 48 ? `${fmt(hours / 24)} d` : `${fmt(hours)} h`);
const fmt = (n: number) => (Number.isInteger(n) || n >= 100 ? n.toFixed(0) : n.toFixed(1));
const pct = (n: number) => `${(n * 100).toFixed(n > 0.99 ? 2 : 1)}%`;
