import { getJson, putJson, type Logger, type ObjectStore, type Progress } from '../../platform/index.js';
import { SIMULATION_STATE_KEY } from '../../products/index.js';
import {
  buildWorld,
  clearRaw,
  simulateHistory,
  writeExtracts,
  type GenerateOptions,
  type GenerateReport,
  type World,
} from './index.js';
import type { EventPublisher } from './sinks.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * What a live simulation needs to be resumed by replay: the options it was built with and where its deliveries got to.
 */
export interface LiveState {
  options: GenerateOptions;
  horizonDays: number;
  deliveredUntil: string;
}

/**
 * The marketplace running on past its history, in data time: every hour that ends, each source delivers what arrived
 * during it (Kafka segments, carrier and settlement files, CRM and feed exports when the simulation makes them, late
 * and dirty lines at the history's rates) as new raw objects, and each domain's extract time moves to the hour's end.
 * Deliveries depend only on data time, never on when `advance` is called, so a restart replays to the same state.
 */
export class LiveMarketplace {
  private nextDay: number;

  private constructor(
    private readonly store: ObjectStore,
    private readonly world: World,
    private readonly state: LiveState,
    private deliveredUntil: number,
  ) {
    this.nextDay = Math.round((world.endMs - world.startMs) / DAY);
  }

  /**
   * Writes the history up to `options.end` (replacing raw data), then runs live from there for up to `horizonDays`.
   * With `orderEvents`, sales order events are published there (a stream) instead of written as topic files.
   */
  static async start(
    store: ObjectStore,
    options: GenerateOptions,
    horizonDays: number,
    progress?: Progress,
    orderEvents?: EventPublisher,
  ): Promise<LiveMarketplace> {
    const world = buildWorld(options, options.days + horizonDays, orderEvents);
    await clearRaw(store, progress);
    await simulateHistory(world, store, progress);
    for (const s of world.sinks) await s.deliverBefore(store, world.endMs, '');
    progress?.done(
      'generated raw sources',
      world.sinks.reduce((n, s) => n + s.report.lines, 0),
      'lines',
    );
    const live = new LiveMarketplace(store, world, { options, horizonDays, deliveredUntil: options.end }, world.endMs);
    await live.commit();
    return live;
  }

  /** Where a live simulation this store holds had delivered to (undefined when the store holds none). */
  static async deliveredUntil(store: ObjectStore): Promise<number | undefined> {
    const state = await getJson<LiveState>(store, SIMULATION_STATE_KEY);
    return state ? Date.parse(state.deliveredUntil) : undefined;
  }

  /** Continues a live simulation this store holds, replaying it (without writing) to where its deliveries got to. */
  static async resume(store: ObjectStore, orderEvents?: EventPublisher): Promise<LiveMarketplace | undefined> {
    const state = await getJson<LiveState>(store, SIMULATION_STATE_KEY);
    if (!state) return undefined;
    const world = buildWorld(state.options, state.options.days + state.horizonDays, orderEvents);
    await simulateHistory(world, undefined);
    for (const s of world.sinks) await s.deliverBefore(undefined, world.endMs, '');
    const live = new LiveMarketplace(store, world, state, world.endMs);
    await live.deliverThrough(Date.parse(state.deliveredUntil), undefined);
    return live;
  }

  /** What the sources have delivered so far, in the shape of a generator report. */
  report(durationMs: number): GenerateReport {
    return {
      options: this.state.options,
      asOf: new Date(this.deliveredUntil).toISOString(),
      sources: this.world.sinks.map((s) => s.report),
      durationMs,
    };
  }

  /**
   * Keeps delivering as the data clock moves: checks a few times per data hour (at most every 30 s of wall time).
   * Returns the stop function. A delivery that fails (the store down) is logged and retried at the next check.
   */
  drive(now: () => number, speed: number, log: Logger, onDelivery?: (hours: number) => void): () => void {
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const hours = await this.advance(now());
        if (hours > 0) onDelivery?.(hours);
      } catch (err) {
        log.error({ err }, 'live sources: delivery failed; retrying at the next check');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), Math.min(30_000, Math.max(250, HOUR / speed / 10)));
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Where the sources have delivered up to (the extract time). */
  get until(): number {
    return this.deliveredUntil;
  }

  /** The end of the simulated world: nothing is delivered after it. */
  get horizon(): number {
    return this.world.startMs + this.world.totalDays * DAY;
  }

  /** Delivers every hour that has ended by `nowMs` (data time); returns how many. */
  async advance(nowMs: number): Promise<number> {
    const hours = await this.deliverThrough(nowMs, this.store);
    if (hours > 0) await this.commit();
    return hours;
  }

  private async deliverThrough(nowMs: number, store: ObjectStore | undefined): Promise<number> {
    let hours = 0;
    for (let b = this.deliveredUntil + HOUR; b <= nowMs && b <= this.horizon; b += HOUR) {
      while (this.nextDay < this.world.totalDays && this.world.startMs + this.nextDay * DAY < b)
        this.world.market.simulateDay(this.nextDay++);
      // `_HHMM` sorts after the day's history file (`.`) and in delivery order within the day.
      const suffix = `_${new Date(b - HOUR).toISOString().slice(11, 16).replace(':', '')}`;
      for (const s of this.world.sinks) await s.deliverBefore(store, b, suffix);
      this.deliveredUntil = b;
      hours++;
    }
    return hours;
  }

  private async commit(): Promise<void> {
    await writeExtracts(
      this.store,
      { ...this.state.options, live: { horizonDays: this.state.horizonDays } },
      this.deliveredUntil,
      this.world.sinks.map((s) => s.report),
    );
    await putJson(
      this.store,
      SIMULATION_STATE_KEY,
      { ...this.state, deliveredUntil: new Date(this.deliveredUntil).toISOString() } satisfies LiveState,
      { layer: 'platform', 'data-product': 'simulation' },
    );
  }
}
