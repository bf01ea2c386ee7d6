import { setTimeout as sleep } from 'node:timers/promises';
import { createEventStream, type Platform } from '../../platform/index.js';

/** A stream-fed domain: the stream its pipeline reads. */
export interface StreamFeed {
  domain: string;
  stream: string;
  subject: string;
}

/**
 * One micro-batch: the domain's pipeline, which lands what is new on its stream. `fence` throws unless the lease the
 * batch started under is still held; returns the last stream sequence it landed (0: none).
 */
export type MicroBatchWork = (domain: string, fence: () => Promise<void>) => Promise<{ landedThrough: number }>;

/**
 * Lands what is new on each stream-fed domain's stream every interval, under the domain's lease (the one its scheduled
 * runs hold, so never two runs of a domain at once on any machine). A batch runs only when the stream's head moved
 * since what this consumer last landed; a consumer that lags (a batch is bounded) runs again at once until it is
 * caught up.
 */
export class MicroBatchConsumer {
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly platform: Platform,
    private readonly feeds: StreamFeed[],
    private readonly work: MicroBatchWork,
    private readonly lease: {
      /** `work` under the domain's lease, renewed and fenced as scheduled runs are; undefined when another holds it. */
      hold: <T>(domain: string, work: (fence: () => Promise<void>) => Promise<T>) => Promise<T | undefined>;
      paused: (domain: string) => Promise<boolean>;
    },
  ) {}

  start(): void {
    this.loops = this.feeds.map((f) => this.loop(f));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.loops);
  }

  private async loop(feed: StreamFeed): Promise<void> {
    const { config, log } = this.platform;
    const events = createEventStream(config, log);
    if (!events) return;
    let landed = -1;
    try {
      while (!this.stopping.signal.aborted) {
        let behind = false;
        try {
          await events.ensure(feed.stream, [feed.subject]);
          const head = await events.head(feed.stream);
          if (head !== landed && !(await this.lease.paused(feed.domain))) {
            const through = (await this.lease.hold(feed.domain, (fence) => this.work(feed.domain, fence)))
              ?.landedThrough;
            // Through the head it saw (or nothing left to land): wait for the next interval; else a bounded batch left
            // more behind, which runs at once.
            if (through !== undefined) {
              behind = through > 0 && through < head;
              landed = behind ? -1 : head;
            }
          }
        } catch (err) {
          log.warn({ err, domain: feed.domain }, 'micro-batch failed: the next interval tries again');
        }
        if (!behind) await sleep(config.streamIntervalMs, undefined, { signal: this.stopping.signal }).catch(() => {});
      }
    } finally {
      await events.close();
    }
  }
}
