import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode,
  MeshError,
  claimStore,
  getJson,
  isMeshError,
  updateRecord,
  type Platform,
} from '../../platform/index.js';
import { jobRunSamples, reportJobMetrics, currentManifest, LEGACY_PAUSED_KEY } from '../../products/index.js';
import { nextRuns, type DomainSchedule } from './definitions.js';
import { MicroBatchConsumer, type MicroBatchWork, type StreamFeed } from './microBatches.js';

/** One scheduled run of a domain: its pipeline, then the feature views that read it, then materialization. */
export interface ScheduledRun {
  domain: string;
  trigger: 'schedule' | 'manual';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  outcome: 'running' | 'succeeded' | 'failed';
  attempts: number;
  /** The pipeline run of the last attempt, or the version kept when nothing changed. */
  runId?: string;
  /** False when nothing new was read: no version published. */
  published?: boolean;
  /** Milliseconds per step of the last attempt (pipeline, features, materialize). */
  steps?: Record<string, number>;
  error?: { code: string; message: string };
}

/**
 * The work of one attempt, given by whoever runs the scheduler (the CLI wires pipelines, features and the online
 * store).
 */
export type ScheduledWork = (
  domain: string,
  context?: {
    /** The cron time a scheduled run is for (its logical date, as Airflow says); none for a manual run. */
    tick?: Date;
    /**
     * Throws unless this instance still holds the domain's lease it started under: called before anything is
     * published, so an instance that lost it (frozen past its expiry while another ran the tick) publishes nothing.
     */
    fence?: () => Promise<void>;
  },
) => Promise<{ runId?: string; steps: Record<string, number>; published?: boolean }>;

export interface DomainScheduleStatus {
  domain: string;
  cron: string;
  paused: { since: string; by: string } | null;
  /** The scheduler instance holding the domain's lease now (`host:pid:id`), on whichever machine. */
  runningOn: string | null;
  nextRun: string | null;
  lastRun: ScheduledRun | null;
  /**
   * Where the domain's curated data has got to: the newest event time its runs have received (else its version's
   * `asOf`).
   */
  watermark: string | null;
  /** Raw objects the runs behind the current version have read. */
  rawFilesRead: number | null;
  succeeded: number;
  failed: number;
}

const HISTORY = 50;
const MAX_WAIT_MS = 3_600_000;
/** Ticks of a domain that may wait behind its run in flight; more means runs overrun their interval for good. */
const MAX_WAITING = 5;

/** The scheduler's records in the control plane, which every instance on every machine shares. */
const historyRecord = (domain: string) => `schedule/history/${domain}`;
const pausedRecord = (domain: string) => `schedule/paused/${domain}`;

interface PauseFlag {
  since: string;
  by: string;
}

/**
 * A domain's pause flag. One set before the control plane (an object in the store) is moved into it when first read,
 * so a domain paused before an upgrade stays paused.
 */
async function pauseFlag(
  platform: Pick<Platform, 'store' | 'control'>,
  domain: string,
): Promise<PauseFlag | undefined> {
  const flag = await platform.control.read<PauseFlag>(pausedRecord(domain));
  if (flag) return flag.value;
  const legacy = await getJson<PauseFlag>(platform.store, LEGACY_PAUSED_KEY(domain));
  if (!legacy) return undefined;
  await updateRecord<PauseFlag>(platform.control, pausedRecord(domain), (now) => now ?? legacy);
  await platform.store.delete(LEGACY_PAUSED_KEY(domain));
  return legacy;
}
/** The latest ticks of a domain that ran to their end, so no instance runs one twice. */
const doneRecord = (domain: string) => `schedule/done/${domain}`;
/** The tick an instance is running: found unfinished by the next holder of the lease, its instance died. */
const runningRecord = (domain: string) => `schedule/running/${domain}`;
const DONE_KEPT = 500;
const leaseName = (domain: string) => `schedule/${domain}`;

/**
 * Runs each domain's pipeline on its contract's cron (croner, UTC): never two runs of one domain at once, at most
 * `concurrency` runs in all, retries with exponential backoff. A failed run publishes nothing, so the previous version
 * keeps serving; its outcome is kept in the domain's run history and reported as job metrics, which the contract's
 * alert watches.
 *
 * Several instances, on several machines, share the work through the control plane: a run holds the domain's lease
 * (renewed while it runs, judged by the control plane's clock), and a tick that ran to its end is recorded, so each
 * tick runs once. An instance that finds the lease taken looks again when it would expire: if its holder died, it runs
 * the missed tick. Pause flags and history are control-plane records too, so every instance and `mesh schedule status`
 * see one state.
 */
export class PipelineScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly running = new Map<string, Promise<ScheduledRun | undefined>>();
  /** Per domain, the ticks waiting for the run in flight here to end. */
  private readonly waitingTicks = new Map<string, Map<string, Promise<ScheduledRun | undefined>>>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  /** Aborted by stop(): a run waiting to retry gives up at once instead of holding the shutdown. */
  private readonly stopping = new AbortController();
  /** Who holds a lease: this instance, as an operator would find it. */
  readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly platform: Platform,
    private readonly schedules: DomainSchedule[],
    private readonly work: ScheduledWork,
    private readonly options: {
      concurrency?: number;
      backoffMs?: number;
      leaseMs?: number;
      /** Stream-fed domains, landed in micro-batches between their scheduled runs. */
      microBatches?: { feeds: StreamFeed[]; work: MicroBatchWork };
    } = {},
  ) {}

  private consumer?: MicroBatchConsumer;

  private get leaseMs(): number {
    return this.options.leaseMs ?? this.platform.config.scheduleLeaseMs;
  }

  start(): void {
    for (const s of this.schedules) this.arm(s);
    const micro = this.options.microBatches;
    if (micro && micro.feeds.length > 0) {
      this.consumer = new MicroBatchConsumer(this.platform, micro.feeds, micro.work, {
        hold: (domain, work) => this.hold(domain, work),
        paused: async (domain) => Boolean(await pauseFlag(this.platform, domain)),
      });
      this.consumer.start();
    }
    this.platform.log.info(
      {
        domains: this.schedules.map((s) => `${s.domain} ${s.cron}`),
        microBatches: this.options.microBatches?.feeds.map((f) => f.domain),
        speed: this.speed,
      },
      'scheduler started',
    );
  }

  private get speed(): number {
    return this.platform.config.simulationSpeed || 1;
  }

  /**
   * Waits for the schedule's next time on the data clock (croner computes it), which runs `speed` times as fast as the
   * timer: at MESH_SIMULATION_SPEED=60 an hourly schedule fires every wall minute. Long waits are re-armed hourly.
   */
  private arm(s: DomainSchedule, after = 0): void {
    if (this.stopped) return;
    const now = this.platform.now();
    // After a firing, the next time is strictly after the one just fired, even if the timer woke a little early.
    const next = nextRuns(s, 1, new Date(Math.max(now, after)))[0];
    if (!next) return;
    const wait = (next.getTime() - now) / this.speed;
    const timer = setTimeout(
      () => {
        if (wait > MAX_WAIT_MS) return this.arm(s, after);
        // A run's own failures are its outcome; what escapes (the store refusing the history) is logged, never thrown
        // at the timer.
        void this.trigger(s.domain, 'schedule', next).catch((err: unknown) =>
          this.platform.log.error({ err, domain: s.domain }, 'scheduled run could not be recorded'),
        );
        this.arm(s, next.getTime());
      },
      Math.min(Math.max(0, wait), MAX_WAIT_MS),
    );
    this.timers.set(s.domain, timer);
  }

  /**
   * Runs a domain now, unless it is paused, running in another instance, or (for a scheduled `tick`) already run to its
   * end by one (undefined). While a run of the domain is going here, a manual trigger gets that run, and a tick waits
   * its turn behind it (up to MAX_WAITING ticks): dropping it would leave it to the other instances, which may be just
   * as busy, and a tick handed over by a dead instance would be lost.
   */
  trigger(domain: string, trigger: ScheduledRun['trigger'], tick?: Date): Promise<ScheduledRun | undefined> {
    const inFlight = this.running.get(domain);
    if (inFlight === undefined) {
      const run = this.runOnce(domain, trigger, tick).finally(() => this.running.delete(domain));
      this.running.set(domain, run);
      return run;
    }
    const waiting = this.waitingTicks.get(domain) ?? new Map<string, Promise<ScheduledRun | undefined>>();
    const key = tick?.toISOString();
    const queued = key === undefined ? undefined : waiting.get(key);
    if (queued) return queued;
    if (key === undefined || waiting.size >= MAX_WAITING) {
      this.platform.log.info({ domain, trigger, tick }, 'scheduled run skipped: a run of the domain is still going');
      return inFlight;
    }
    const later = inFlight
      .catch(() => undefined)
      .then(() => {
        waiting.delete(key);
        return this.stopped ? undefined : this.trigger(domain, trigger, tick);
      });
    waiting.set(key, later);
    this.waitingTicks.set(domain, waiting);
    return later;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.stopping.abort();
    await Promise.allSettled([...this.running.values(), this.consumer?.stop()]);
  }

  private async runOnce(
    domain: string,
    trigger: ScheduledRun['trigger'],
    tick?: Date,
  ): Promise<ScheduledRun | undefined> {
    const schedule = this.schedules.find((s) => s.domain === domain);
    if (!schedule) throw new Error(`no schedule for ${domain}`);
    // In line first, in the order of the triggers; a pause is judged when the run's turn comes.
    await this.slot();
    const started = Date.now();
    const run: ScheduledRun = {
      domain,
      trigger,
      startedAt: new Date(this.platform.now()).toISOString(),
      outcome: 'running',
      attempts: 0,
    };
    let renewal: NodeJS.Timeout | undefined;
    try {
      const claimed = await this.claim(domain, tick).catch((err: unknown) => {
        // The control plane is unreachable: the tick is not lost, it is looked at again a lease later.
        if (!tick || !isMeshError(err, 'CONTROL_PLANE_ERROR')) throw err;
        this.platform.log.warn({ domain, tick, err: (err as Error).message }, 'scheduled run deferred');
        this.lookAgain(domain, tick, this.leaseMs);
        return undefined;
      });
      if (!claimed) return undefined;
      tick = claimed.tick;
      renewal = this.renew(domain);
      await this.record(run);
      for (;;) {
        run.attempts++;
        try {
          const done = await this.work(domain, { tick, fence: () => this.fence(domain, claimed.fence) });
          Object.assign(run, {
            outcome: 'succeeded',
            runId: done.runId,
            steps: done.steps,
            published: done.published ?? true,
            error: undefined,
          });
          break;
        } catch (err) {
          run.outcome = 'failed';
          run.error = isMeshError(err)
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL_SERVER_ERROR', message: (err as Error).message };
          this.platform.log.warn({ domain, attempt: run.attempts, err }, 'scheduled run failed');
          if (run.attempts > schedule.retries || this.stopping.signal.aborted) break;
          const waited = await sleep((this.options.backoffMs ?? 30_000) * 2 ** (run.attempts - 1), true, {
            signal: this.stopping.signal,
          }).catch(() => false);
          if (!waited) break;
        }
      }
      // Whatever its outcome: a failed tick is not run again by another instance.
      const ran = tick?.toISOString();
      if (ran)
        await updateRecord<{ ticks: string[] }>(this.platform.control, doneRecord(domain), (done) => ({
          ticks: [...(done?.ticks ?? []), ran].sort().slice(-DONE_KEPT),
        }));
    } finally {
      clearInterval(renewal);
      if (renewal) await this.platform.control.release(leaseName(domain), this.holder).catch(() => {});
      this.release();
    }
    // Times of a run are data time (like its schedule); its duration is what it took on the wall clock.
    run.finishedAt = new Date(this.platform.now()).toISOString();
    run.durationMs = Date.now() - started;
    const history = await this.record(run);
    await reportJobMetrics(this.platform, `schedule-${domain}`, [
      // Prometheus judges the last run against its own (wall) clock.
      ...jobRunSamples(
        'schedule',
        { finishedAt: new Date(), durationMs: run.durationMs, ok: run.outcome === 'succeeded' },
        { domain },
      ),
      {
        name: 'mesh_schedule_next_run_timestamp_seconds',
        help: 'When the scheduler runs the domain next (data time)',
        labels: { domain },
        value: (nextRuns(schedule, 1, new Date(this.platform.now()))[0]?.getTime() ?? 0) / 1000,
      },
      {
        name: 'mesh_schedule_attempts',
        help: 'Attempts the last scheduled run of the domain took',
        labels: { domain },
        value: run.attempts,
      },
      ...(['succeeded', 'failed'] as const).map((outcome) => ({
        name: 'mesh_schedule_runs',
        help: 'Scheduled runs of the domain in its kept history, by outcome',
        labels: { domain, outcome },
        value: history.filter((h) => h.outcome === outcome).length,
      })),
    ]);
    return run;
  }

  /**
   * Unless the domain is paused: its lease, and the tick to run under it: first a tick whose instance died mid-run
   * (the lease had expired, so it holds it no more), then this tick unless an instance already ran it to its end. When
   * another instance holds the lease, the tick is looked at again when the lease expires. Undefined: nothing to run.
   */
  private async claim(domain: string, tick: Date | undefined): Promise<{ tick?: Date; fence: number } | undefined> {
    const control = this.platform.control;
    if (await pauseFlag(this.platform, domain)) {
      this.platform.log.info({ domain, tick }, 'scheduled run skipped: the domain is paused');
      return undefined;
    }
    await claimStore(this.platform.store, control);
    const lease = await control.acquire(leaseName(domain), this.holder, this.leaseMs);
    if (!lease) {
      this.platform.log.info({ domain, tick }, 'scheduled run skipped: another instance holds the domain');
      if (tick) this.lookAgain(domain, tick);
      return undefined;
    }
    const [done, running] = await Promise.all([
      control.read<{ ticks: string[] }>(doneRecord(domain)),
      control.read<{ tick: string; holder: string }>(runningRecord(domain)),
    ]);
    const ticks = done?.value.ticks ?? [];
    const orphan = running && running.value.holder !== this.holder && !ticks.includes(running.value.tick);
    if (orphan) {
      this.platform.log.warn(
        { domain, tick: running.value.tick, holder: running.value.holder },
        'running a tick whose instance died',
      );
      if (tick && tick.toISOString() !== running.value.tick) this.lookAgain(domain, tick, 0);
    }
    const chosen = orphan ? new Date(running.value.tick) : tick;
    if (chosen && !orphan && ticks.includes(chosen.toISOString())) {
      await control.release(leaseName(domain), this.holder);
      return undefined;
    }
    if (chosen)
      await updateRecord(control, runningRecord(domain), () => ({ tick: chosen.toISOString(), holder: this.holder }));
    return { tick: chosen, fence: lease.fence };
  }

  /** Renews the lease, and refuses when it is no longer the one the run started under. */
  private async fence(domain: string, fence: number): Promise<void> {
    const lease = await this.platform.control.acquire(leaseName(domain), this.holder, this.leaseMs);
    if (lease?.fence !== fence)
      throw new MeshError(
        ErrorCode.CONFLICT,
        `${domain}: this scheduler instance lost the domain's lease while the run went on (another instance may have ` +
          'run the tick): nothing published',
      );
  }

  /**
   * The tick again when the other instance's lease expires (a live holder renews it, and this looks again then), in
   * line behind this instance's own run of the domain if one is going.
   */
  private lookAgain(domain: string, tick: Date, afterMs?: number): void {
    if (this.stopped) return;
    void (
      afterMs !== undefined
        ? Promise.resolve(afterMs)
        : this.platform.control.holderOf(leaseName(domain)).then(
            (lease) => lease?.remainingMs ?? 0,
            () => this.leaseMs,
          )
    ).then((remainingMs) => {
      const again = setTimeout(
        () => {
          if (!this.stopped) this.trigger(domain, 'schedule', tick).catch(() => {});
        },
        remainingMs + 50 + Math.random() * 250,
      );
      again.unref();
    });
  }

  /** `work` under the domain's lease, renewed while it runs and fenced; undefined when another instance holds it. */
  private async hold<T>(domain: string, work: (fence: () => Promise<void>) => Promise<T>): Promise<T | undefined> {
    const lease = await this.platform.control.acquire(leaseName(domain), this.holder, this.leaseMs);
    if (!lease) return undefined;
    const renewal = this.renew(domain);
    try {
      return await work(() => this.fence(domain, lease.fence));
    } finally {
      clearInterval(renewal);
      await this.platform.control.release(leaseName(domain), this.holder).catch(() => {});
    }
  }

  /** Keeps the lease while the run lasts; a renewal refused means another instance took over, which the log says. */
  private renew(domain: string): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.platform.control.acquire(leaseName(domain), this.holder, this.leaseMs).then(
        (lease) => lease || this.platform.log.error({ domain }, 'schedule lease lost to another instance mid-run'),
        (err: unknown) => this.platform.log.warn({ err, domain }, 'schedule lease not renewed'),
      );
    }, this.leaseMs / 3);
    timer.unref();
    return timer;
  }

  /**
   * The run as the domain's history has it: the newest first, the running entry replaced by its outcome. Returns the
   * history written.
   */
  private async record(run: ScheduledRun): Promise<ScheduledRun[]> {
    const history = await updateRecord<ScheduledRun[]>(this.platform.control, historyRecord(run.domain), (h) =>
      [{ ...run }, ...(h ?? []).filter((e) => e.startedAt !== run.startedAt)].slice(0, HISTORY),
    );
    return history ?? [];
  }

  private async slot(): Promise<void> {
    if (this.active < (this.options.concurrency ?? 1)) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export async function scheduleHistory(platform: Pick<Platform, 'control'>, domain: string): Promise<ScheduledRun[]> {
  return (await platform.control.read<ScheduledRun[]>(historyRecord(domain)))?.value ?? [];
}

/** Each domain's schedule as any process sees it: paused or not, next and last run, its watermark. */
export async function scheduleStatus(
  platform: Pick<Platform, 'store' | 'control' | 'now'>,
  schedules: DomainSchedule[],
  now = new Date(platform.now()),
): Promise<DomainScheduleStatus[]> {
  return Promise.all(
    schedules.map(async (s) => {
      const [paused, history, manifest, lease] = await Promise.all([
        pauseFlag(platform, s.domain),
        scheduleHistory(platform, s.domain),
        currentManifest(platform, s.domain),
        platform.control.holderOf(leaseName(s.domain)),
      ]);
      return {
        domain: s.domain,
        cron: s.cron,
        paused: paused ?? null,
        runningOn: lease?.holder ?? null,
        // Another process's data clock may run ahead of this one's (a simulation speed): never before its last run.
        nextRun: paused
          ? null
          : (nextRuns(
              s,
              1,
              new Date(Math.max(now.getTime(), Date.parse(history[0]?.startedAt ?? '') || 0)),
            )[0]?.toISOString() ?? null),
        lastRun: history[0] ?? null,
        watermark: manifest?.ingest?.newestEvent ?? manifest?.asOf ?? null,
        rawFilesRead: manifest?.ingest?.rawFiles ?? null,
        succeeded: history.filter((h) => h.outcome === 'succeeded').length,
        failed: history.filter((h) => h.outcome === 'failed').length,
      };
    }),
  );
}

/** Pauses or resumes a domain's schedule: a control-plane flag, read before every run by every instance. */
export async function setPaused(
  platform: Pick<Platform, 'store' | 'control'>,
  domain: string,
  paused: boolean,
  by: string,
): Promise<void> {
  // A flag from before the control plane moves into it first, so that resuming clears it too.
  await pauseFlag(platform, domain);
  await updateRecord(platform.control, pausedRecord(domain), (flag) =>
    paused ? (flag ?? { since: new Date().toISOString(), by }) : null,
  );
}
