import { Cron } from 'croner';
import { MeshError, ErrorCode, type DomainInfo } from '../../platform/index.js';
import { customProperty, loadContract, slaHours } from '../../governance/index.js';

/**
 * When and how a domain's pipeline runs, from its data contract: one definition for the embedded scheduler and Airflow.
 */
export interface DomainSchedule {
  domain: string;
  /** Cron in UTC, the contract's `schedule` custom property. */
  cron: string;
  /** The team that owns the data product (the contract's team). */
  owner: string;
  /** The freshness SLO in hours: the SLA of a scheduled run. */
  freshnessHours?: number;
  /** Attempts after the first when a run fails. */
  retries: number;
}

/**
 * Every domain's schedule; a domain whose contract has none is left out, an invalid cron is a CONFIG_INVALID naming it.
 */
export function loadSchedules(domains: DomainInfo[]): DomainSchedule[] {
  return domains.flatMap((d) => {
    const contract = loadContract(d.contractFile, d.name);
    const cron = customProperty(contract, 'schedule');
    if (cron === undefined) return [];
    try {
      new Cron(String(cron), { paused: true, timezone: 'UTC' }).stop();
    } catch (err) {
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        `${d.contractFile}: schedule "${String(cron)}" is not a valid cron pattern: ${(err as Error).message}`,
      );
    }
    const retries = customProperty(contract, 'retries');
    return [
      {
        domain: d.name,
        cron: String(cron),
        owner: contract.team?.name ?? `${d.name}-data`,
        freshnessHours: slaHours(contract, 'freshness'),
        retries: retries === undefined ? 2 : Number(retries),
      },
    ];
  });
}

/** The next `n` times a schedule fires after `from`. */
export function nextRuns(schedule: DomainSchedule, n: number, from: Date): Date[] {
  const cron = new Cron(schedule.cron, { paused: true, timezone: 'UTC' });
  const runs = cron.nextRuns(n, from);
  cron.stop();
  return runs;
}
