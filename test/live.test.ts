import { afterAll, describe, expect, it } from 'vitest';
import { listDomains } from '../platform/domains.js';
import { LiveMarketplace } from '../jobs/generate/live.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { loadSchedules } from '../jobs/schedule/definitions.js';
import { PipelineScheduler, scheduleHistory, setPaused, type ScheduledWork } from '../jobs/schedule/scheduler.js';
import { currentManifest, dataAgeHours } from '../products/readers.js';
import { loadSlos } from '../observability/slo.js';
import { SloEvaluator } from '../observability/sloStatus.js';
import type { MeshPlatform } from '../lineage/platformLineage.js';
import { testMeshPlatform } from '../lineage/test/helpers.js';

const END = '2026-11-01T00:00:00.000Z';
/** Two hours of data time per wall second: a day of a live mesh in twelve seconds. */
const SPEED = 7200;
const HOUR = 3_600_000;

const stops: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

describe('a live mesh in data time', () => {
  it('keeps every scheduled product within its freshness SLO while sources deliver; a paused domain goes stale and ' +
    'breaches it', async () => {
    const platform: MeshPlatform = testMeshPlatform({ MESH_SIMULATION_SPEED: String(SPEED), MESH_NOW: END });
    const domains = listDomains(platform.config.domainsDir);
    const live = await LiveMarketplace.start(platform.store, { scale: 0.1, seed: 3, days: 30, end: END }, 10);
    for (const d of domains) await runDomainPipeline(platform, d);

    const delivered: { hour: number; wallMs: number }[] = [];
    const published: { domain: string; asOf: number; wallMs: number }[] = [];
    const work: ScheduledWork = async (domain) => {
      const r = await runDomainPipeline(platform, domains.find((d) => d.name === domain)!);
      if (!r.unchanged) published.push({ domain, asOf: Date.parse(r.asOf), wallMs: Date.now() });
      return { runId: r.runId, steps: {}, published: !r.unchanged };
    };
    const scheduler = new PipelineScheduler(platform, loadSchedules(domains), work, { concurrency: 2 });
    await setPaused(platform, 'payments', true, 'test');
    scheduler.start();
    stops.push(() => scheduler.stop());
    stops.push(
      live.drive(
        () => platform.now(),
        SPEED,
        platform.log,
        () => delivered.push({ hour: live.until, wallMs: Date.now() }),
      ),
    );
    const slo = new SloEvaluator(
      loadSlos(domains),
      async () => ({}),
      () =>
        dataAgeHours(
          platform,
          domains.map((d) => d.name),
        ),
    );

    // 30 hours of data time: every hourly and daily schedule has fired, and payments has missed its day.
    while (platform.now() < Date.parse(END) + 30 * HOUR) await new Promise((r) => setTimeout(r, 250));
    await slo.tick();
    const states = Object.fromEntries(slo.status().map((s) => [s.domain, s]));
    expect((live.until - Date.parse(END)) / HOUR, 'the sources delivered hour after hour').toBeGreaterThanOrEqual(29);
    for (const d of ['sales', 'fulfillment', 'catalog', 'campaigns']) {
      expect(states[d]!.state, `${d}: ${states[d]!.reasons.join('; ')}`).not.toBe('BREACHED');
      expect((await scheduleHistory(platform, d)).some((r) => r.outcome === 'succeeded' && r.published)).toBe(true);
    }
    expect(states.payments!.state).toBe('BREACHED');
    expect(states.payments!.reasons.join(' ')).toMatch(/^data is 3\d\.\d h old, freshness SLO 24 h/);
    expect((await currentManifest(platform, 'payments'))!.asOf).toBe(END);

    // From a delivery to its rows in a published version, for the hourly domains (data minutes; the schedule's offset
    // included).
    for (const d of ['sales', 'fulfillment']) {
      const lags = published
        .filter((p) => p.domain === d)
        .map((p) => {
          const arrival = delivered.find((x) => x.hour >= p.asOf);
          return arrival ? ((p.wallMs - arrival.wallMs) * SPEED) / 60_000 : undefined;
        });
      const known = lags.filter((l): l is number => l !== undefined);
      expect(known.length, d).toBeGreaterThan(0);
      process.stdout.write(`${d}: arrival → published, data minutes: ${known.map((l) => l.toFixed(0)).join(', ')}\n`);
    }
  }, 180_000);
});
