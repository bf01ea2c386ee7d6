import { MeshError, ErrorCode } from './errors.js';

/** What a caller's budget says of one request: taken, or refused with when to come back. */
export interface Admission {
  ok: boolean;
  /** Points left in the caller's budget (after this request when it was taken). */
  remaining: number;
  /** Seconds until the budget holds enough for this request again (0 when it was taken). */
  retryAfterSeconds: number;
}

/**
 * A cost budget per caller, as a token bucket: `capacity` points, refilled at `refillPerSecond`. A request takes its
 * estimated cost from its caller's bucket or is refused, never queued: a caller who spends fast waits, the others do
 * not. The callers remembered are bounded; the one idle longest is forgotten first (it would be full again anyway).
 */
export class CostBudgets {
  private readonly buckets = new Map<string, { points: number; at: number }>();

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly maxCallers = 10_000,
  ) {}

  take(caller: string, cost: number): Admission {
    const now = this.clock();
    const held = this.buckets.get(caller);
    const points = held
      ? Math.min(this.capacity, held.points + ((now - held.at) / 1000) * this.refillPerSecond)
      : this.capacity;
    this.buckets.delete(caller);
    if (points < cost) {
      this.buckets.set(caller, { points, at: now });
      const retryAfterSeconds = Math.max(1, Math.ceil((cost - points) / this.refillPerSecond));
      return { ok: false, remaining: Math.floor(points), retryAfterSeconds };
    }
    this.buckets.set(caller, { points: points - cost, at: now });
    if (this.buckets.size > this.maxCallers) this.buckets.delete(this.buckets.keys().next().value!);
    return { ok: true, remaining: Math.floor(points - cost), retryAfterSeconds: 0 };
  }
}

/**
 * A bounded pool for heavy work: at most `concurrency` pieces run at once, apart from the light work that never
 * enters it; a piece waits its turn at most `maxWaitMs`, then is refused (THROTTLED) rather than kept waiting.
 */
export class HeavyPool {
  private running = 0;
  private readonly waiting: { grant: (release: () => void) => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaitMs: number,
  ) {}

  /** A slot, released by calling the function returned (once). */
  async acquire(): Promise<() => void> {
    if (this.running < this.concurrency) {
      this.running++;
      return this.releaser();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: resolve,
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(
            new MeshError(
              ErrorCode.THROTTLED,
              `heavy work is at capacity (${this.concurrency} at once); waited ${this.maxWaitMs} ms: try again shortly`,
              { retryAfterSeconds: Math.max(1, Math.ceil(this.maxWaitMs / 1000)) },
            ),
          );
        }, this.maxWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  /** Pieces running and waiting now (for metrics). */
  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (!next) {
        this.running--;
        return;
      }
      clearTimeout(next.timer);
      // The slot passes on after the I/O pending now: handed over at once, one heavy piece would follow another
      // without a request in between ever being read.
      setImmediate(() => next.grant(this.releaser()));
    };
  }
}
