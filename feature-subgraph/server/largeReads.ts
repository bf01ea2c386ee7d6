import { ThreadPool, type OnlineStoreConfig } from '../../platform/index.js';
import type { OnlineReadPlan } from './getOnlineFeatures.js';
import type { LargeRead, LargeReadAnswer } from './largeReadWorker.js';
import type { ServingMetrics } from './servingMetrics.js';

/**
 * Large Feast reads in worker threads (at most `threads` at once), each thread with its own connection to the online
 * store the server was configured with. What they read is counted in this thread's serving metrics.
 */
export class LargeReads {
  private readonly pool: ThreadPool<LargeRead, LargeReadAnswer>;

  constructor(
    private readonly online: OnlineStoreConfig,
    threads: number,
    private readonly serving: ServingMetrics,
  ) {
    this.pool = new ThreadPool(new URL('./largeReadWorker.ts', import.meta.url), threads);
  }

  async read(plan: OnlineReadPlan, now: number): Promise<LargeReadAnswer> {
    const answer = await this.pool.run({ online: this.online, plan, now });
    for (const r of answer.reads) this.serving.recordRead(this.online.kind, r);
    return answer;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
