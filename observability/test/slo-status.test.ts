import { describe, it, expect } from 'vitest';
import { SloEvaluator, quantileMs } from '../sloStatus.js';
import type { FetchCounts } from '../../platform/metrics.js';
import type { DomainSlo } from '../slo.js';
import { recordStreamFreshness, streamFreshness } from '../../products/readers.js';
import { testPlatform } from '../../platform/test/helpers.js';

const SLO: DomainSlo = {
  domain: 'payments',
  dataProduct: 'payments',
  availability: 0.999,
  latencyP99Ms: 300,
  freshnessHours: 24,
};
const LE = [0.05, 0.1, 0.3, 1, Infinity];

/** A fake gateway: cumulative counters the test advances, and a clock. */
function harness(ageHours: number | null = 1) {
  let now = Date.parse('2026-11-25T00:00:00Z');
  const counts = { total: 0, errors: 0, buckets: LE.map((le) => ({ le, count: 0 })) };
  const evaluator = new SloEvaluator(
    [SLO],
    async (): Promise<FetchCounts> => ({ payments: structuredClone(counts) }),
    async () => new Map([['payments', ageHours]]),
    { now: () => now },
  );
  return {
    evaluator,
    /** `calls` fetches over `minutes`, `errors` of them failed, each taking `seconds`; then a sample. */
    async advance(minutes: number, calls: number, errors: number, seconds = 0.04) {
      now += minutes * 60_000;
      counts.total += calls;
      counts.errors += errors;
      for (const b of counts.buckets) if (seconds <= b.le) b.count += calls;
      await evaluator.tick();
    },
  };
}

describe('continuous SLO evaluation', () => {
  it('is OK with traffic inside every objective, and says why not otherwise', async () => {
    const h = harness();
    await h.advance(0, 0, 0);
    await h.advance(10, 10_000, 5);
    const [s] = h.evaluator.status();
    expect(s!.state).toBe('OK');
    expect(s!.availability.windows['5m']).toBeCloseTo(1 - 5 / 10_000, 6);
    expect(s!.availability.burnRate['1h']).toBeCloseTo(0.5, 6);
    expect(s!.availability.budgetRemaining).toBeCloseTo(0.5, 6);
    expect(s!.latency.p99Ms).toBeCloseTo(49.5, 6); // 99th of 10,000 in the first bucket (0 to 50 ms)
  });

  it('pages on a fast burn (1h and 5m above 14.4x) and breaches when the budget is gone', async () => {
    const h = harness();
    await h.advance(0, 0, 0);
    await h.advance(20 * 60, 10_000_000, 0);
    await h.advance(5, 10_000, 200); // 2% errors: 20x the budget over 5m, but not yet over the hour
    let [s] = h.evaluator.status();
    expect(s!.availability.burnRate['5m']).toBeCloseTo(20, 6);
    expect(s!.availability.burnRate['1h']).toBeLessThan(14.4);
    expect(s!.state).toBe('OK');
    for (let i = 0; i < 11; i++) await h.advance(5, 10_000, 200);
    [s] = h.evaluator.status();
    expect(s!.availability.burnRate['1h']).toBeCloseTo(20, 6);
    expect(s!.availability.budgetRemaining).toBeGreaterThan(0.7);
    expect(s!.state).toBe('AT_RISK');
    expect(s!.reasons).toEqual(['fast burn: 20.0x the error budget over 1h']);
    await h.advance(5, 100_000, 20_000);
    [s] = h.evaluator.status();
    expect(s!.availability.budgetRemaining).toBeLessThan(0);
    expect(s!.state).toBe('BREACHED');
    expect(s!.reasons[0]).toBe('error budget of the 99.90% availability SLO exhausted');
  });

  it('breaches on latency and on stale data, and has no data before any traffic or manifest', async () => {
    const slow = harness();
    await slow.advance(0, 0, 0);
    await slow.advance(5, 1000, 0, 0.5); // all in the 300 ms to 1 s bucket: 300 + 700 x 0.99
    expect(slow.evaluator.status()[0]!.reasons).toEqual(['p99 993 ms over the last 5 min, latency SLO 300 ms']);
    const stale = harness(30);
    await stale.advance(0, 0, 0);
    expect(stale.evaluator.status()[0]!.reasons).toEqual(['data is 30 h old, freshness SLO 24 h']);
    const none = harness(null);
    await none.advance(0, 0, 0);
    expect(none.evaluator.status()[0]!.state).toBe('NO_DATA');
  });

  it('keeps per-interval history for charts', async () => {
    const h = harness();
    await h.advance(0, 0, 0);
    await h.advance(1, 100, 1);
    await h.advance(1, 300, 0);
    expect(h.evaluator.history('payments').map((p) => [p.requests, p.errorRatio])).toEqual([
      [100, 0.01],
      [300, 0],
    ]);
    expect(h.evaluator.history('payments').at(-1)!.budgetRemaining).toBeCloseTo(1 - 1 / 400 / 0.001, 6);
    // A day of 15 s samples is 5,760 intervals: charts get at most 240 points, with every call of the kept day counted
    // (the first 400 calls are now more than 24 h old).
    for (let i = 0; i < 5760; i++) await h.advance(0.25, 10, 0);
    const day = h.evaluator.history('payments');
    expect(day.length).toBeLessThanOrEqual(240);
    expect(day.reduce((n, p) => n + p.requests, 0)).toBe(57_600);
  });

  it('interpolates quantiles inside buckets as histogram_quantile does', () => {
    const buckets = [
      { le: 0.1, count: 50 },
      { le: 0.2, count: 90 },
      { le: 0.4, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(quantileMs(buckets, 0.5)).toBeCloseTo(100, 6);
    expect(quantileMs(buckets, 0.7)).toBeCloseTo(150, 6);
    expect(quantileMs(buckets, 0.99)).toBeCloseTo(380, 6);
    expect(quantileMs([{ le: 0.1, count: 0 }], 0.99)).toBeNull();
  });
});

describe('stream freshness', () => {
  it("judges a stream-fed product on the last hour of its batches' event freshness", async () => {
    const platform = testPlatform();
    const slo: DomainSlo = { ...SLO, domain: 'sales', streamFreshness: { quantile: 0.99, seconds: 900 } };
    let now = Date.parse('2026-11-25T00:00:00Z');
    const evaluator = new SloEvaluator(
      [slo],
      async () => ({}),
      async () => new Map([['sales', 0.1]]),
      { now: () => now, streamFreshness: () => streamFreshness(platform, ['sales'], 3_600_000, now) },
    );
    await evaluator.tick();
    expect(evaluator.status()[0]!.freshness.stream).toEqual({
      quantile: 0.99,
      objectiveSeconds: 900,
      p50Seconds: null,
      p99Seconds: null,
      batches: 0,
      events: 0,
    });
    const batch = (minutesAgo: number, events: number, p50Seconds: number, p99Seconds: number) => ({
      at: now - minutesAgo * 60_000,
      events,
      p50Seconds,
      p99Seconds,
    });
    // Two hours ago a slow batch; in the hour, three within the objective (the median by events is 20 s).
    await recordStreamFreshness(platform, 'sales', [batch(120, 500, 1500, 2000), batch(50, 100, 5, 30)]);
    await recordStreamFreshness(platform, 'sales', [batch(20, 300, 20, 40), batch(1, 50, 60, 100)]);
    await evaluator.tick();
    let [s] = evaluator.status();
    expect(s!.freshness.stream).toMatchObject({ p50Seconds: 20, p99Seconds: 100, batches: 3, events: 450 });
    expect(s!.state).toBe('OK');
    await recordStreamFreshness(platform, 'sales', [batch(0, 10, 400, 1000)]);
    await evaluator.tick();
    [s] = evaluator.status();
    expect(s!.state).toBe('BREACHED');
    expect(s!.reasons).toEqual([
      'stream events took up to 1000 s to be queryable over the last hour (batch p99), freshness SLO p99 900 s',
    ]);
    // An hour on, the slow batch is out of the window.
    now += 3_601_000;
    await recordStreamFreshness(platform, 'sales', [batch(0, 10, 2, 3)]);
    await evaluator.tick();
    expect(evaluator.status()[0]!.freshness.stream).toMatchObject({ p99Seconds: 3, batches: 1 });
  });
});
