import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger, RunEvent } from '../platform/index.js';
import type { Transport } from './transports.js';

export interface EmitterOptions {
  /** Undeliverable batches wait here, one JSON-lines file each, and are resent on later flushes. */
  spoolDir: string;
  flushMs?: number;
  batchSize?: number;
  /** Events held in memory at most; beyond that a batch goes straight to the spool. */
  maxQueue?: number;
  attempts?: number;
  backoffMs?: number;
}

export interface EmitterStats {
  emitted: number;
  sent: Record<string, number>;
  spooled: Record<string, number>;
  resent: Record<string, number>;
  queued: number;
}

/**
 * Sends lineage without ever slowing or failing the caller: `emit` only queues; a timer sends batches to every
 * transport with retries and exponential backoff; what still fails is written to disk per transport and resent later.
 */
export class LineageEmitter {
  private queue: RunEvent[] = [];
  private flushing?: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private readonly stats: EmitterStats = { emitted: 0, sent: {}, spooled: {}, resent: {}, queued: 0 };

  constructor(
    private readonly transports: Transport[],
    private readonly log: Logger,
    private readonly options: EmitterOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 1000);
    this.timer.unref();
  }

  emit(event: RunEvent): void {
    this.stats.emitted++;
    this.queue.push(event);
    if (this.queue.length >= (this.options.maxQueue ?? 10_000)) {
      const overflow = this.queue;
      this.queue = [];
      for (const t of this.transports) this.spool(t, overflow);
    }
  }

  /** Sends everything queued, then retries the spool. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  snapshot(): EmitterStats {
    return { ...structuredClone(this.stats), queued: this.queue.length };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.queue.length) await this.flush();
  }

  private async doFlush(): Promise<void> {
    const batchSize = this.options.batchSize ?? 100;
    while (this.queue.length) {
      const batch = this.queue.splice(0, batchSize);
      await Promise.all(this.transports.map((t) => this.deliver(t, batch)));
    }
    await Promise.all(this.transports.map((t) => this.resend(t)));
  }

  private async deliver(t: Transport, batch: RunEvent[]): Promise<void> {
    if (this.spooledFiles(t).length > 0) return this.spool(t, batch); // keep order: older spooled events go first
    if (await this.attempt(t, batch)) this.count('sent', t, batch.length);
    else this.spool(t, batch);
  }

  private async attempt(t: Transport, batch: RunEvent[]): Promise<boolean> {
    const attempts = this.options.attempts ?? 3;
    for (let i = 0; i < attempts; i++) {
      try {
        await t.send(batch);
        return true;
      } catch (err) {
        if (i === attempts - 1) {
          this.log.warn(
            { transport: t.name, events: batch.length, err: (err as Error).message },
            'lineage not delivered; spooled for later',
          );
          return false;
        }
        await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? 100) * 2 ** i));
      }
    }
    return false;
  }

  private async resend(t: Transport): Promise<void> {
    for (const file of this.spooledFiles(t)) {
      const events = fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as RunEvent);
      // One try per flush: an endpoint that is still down costs one request, not a retry storm.
      try {
        await t.send(events);
      } catch {
        return;
      }
      fs.rmSync(file, { force: true });
      this.count('resent', t, events.length);
    }
  }

  private spool(t: Transport, events: RunEvent[]): void {
    const dir = path.join(this.options.spoolDir, t.name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${Date.now().toString().padStart(15, '0')}-${randomUUID().slice(0, 8)}.jsonl`);
    fs.writeFileSync(`${file}.tmp`, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    fs.renameSync(`${file}.tmp`, file);
    this.count('spooled', t, events.length);
  }

  private spooledFiles(t: Transport): string[] {
    const dir = path.join(this.options.spoolDir, t.name);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .map((f) => path.join(dir, f));
  }

  private count(kind: 'sent' | 'spooled' | 'resent', t: Transport, n: number): void {
    this.stats[kind][t.name] = (this.stats[kind][t.name] ?? 0) + n;
  }
}
