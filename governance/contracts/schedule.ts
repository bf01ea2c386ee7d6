import { Cron } from 'croner';
import { customProperty, slaHours, type DataContract } from './types.js';

const WEEK = 7 * 24;

/** The longest wait, in hours, between two consecutive runs of a cron (UTC) over a week. */
export function longestGapHours(cron: string): number {
  const c = new Cron(cron, { paused: true, timezone: 'UTC' });
  try {
    const runs = c.nextRuns(WEEK * 60 + 1, new Date('2026-01-05T00:00:00.000Z')).map((d) => d.getTime());
    let gap = 0;
    for (let i = 1; i < runs.length; i++) gap = Math.max(gap, (runs[i]! - runs[i - 1]!) / 3_600_000);
    return runs.length > 1 ? gap : WEEK;
  } finally {
    c.stop();
  }
}

/**
 * A contract whose schedule waits as long as its freshness SLO between runs promises what it cannot keep: its data is
 * past the SLO before each run (a daily run and a 24 h freshness breach every day, for as long as the run takes).
 */
export function scheduleProblems(contract: DataContract): string[] {
  const cron = customProperty(contract, 'schedule');
  const freshness = slaHours(contract, 'freshness');
  if (typeof cron !== 'string' || freshness === undefined) return [];
  const gap = longestGapHours(cron);
  return gap >= freshness
    ? [
        `schedule "${cron}" waits up to ${gap} h between runs but the freshness SLO is ${freshness} h: the data is ` +
          `past its SLO before every run (run more often, or promise less)`,
      ]
    : [];
}
