import { connect, createInbox, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { MeshError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { EventStream, StreamEvent, StreamMessage } from './types.js';

/** Publishes in flight at once: acks come back in order on one connection, so the log keeps the events' order. */
const IN_FLIGHT = 512;
/** How long a window of publishes waits for its acks before it is published again, ack by ack. */
const ACK_WAIT_MS = 5_000;

/** NATS JetStream: stream sequences are positions; message ids dedupe within the stream's duplicate window. */
export class JetStreamEventStream implements EventStream {
  private connection?: Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }>;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  async ensure(stream: string, subjects: string[]): Promise<void> {
    const { jsm } = await this.connected();
    await this.call(`create stream ${stream}`, async () => {
      try {
        await jsm.streams.info(stream);
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message)) throw err;
        await jsm.streams.add({ name: stream, subjects });
      }
    });
  }

  async publish(subject: string, events: StreamEvent[]): Promise<void> {
    const { nc, js } = await this.connected();
    await this.call(`publish to ${subject}`, async () => {
      for (let i = 0; i < events.length; i += IN_FLIGHT) {
        const window = events.slice(i, i + IN_FLIGHT);
        // An ack refused or missing: the window again, each publish awaiting its own ack (ids dedupe what was stored).
        if (!(await publishWindow(nc, subject, window)))
          await Promise.all(window.map((e) => js.publish(subject, e.data, { msgID: e.id })));
      }
    });
  }

  async read(
    stream: string,
    after: number,
    max: number,
    waitMs: number,
    onPart?: (messages: StreamMessage[]) => void,
  ): Promise<StreamMessage[]> {
    const { js, jsm } = await this.connected();
    return this.call(`read ${stream}`, async () => {
      const head = await this.head(stream);
      if (head <= after) return [];
      // A pull consumer of its own, without acks, deleted after the read: pulled exactly what is asked. (Measured: a
      // micro-batch of 100,000 from a stream holding 300,000 ran in 2.5 s, against 3.2 s with an ordered consumer.)
      const { name } = await jsm.consumers.add(stream, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: after + 1,
        inactive_threshold: nanos(60_000),
        mem_storage: true,
      });
      const out: StreamMessage[] = [];
      try {
        const consumer = await js.consumers.get(stream, name);
        let last = after;
        // Asks for what the stream holds up to its head, so a fetch ends when that arrives, not when it expires.
        while (out.length < max && last < head) {
          const want = Math.min(max - out.length, head - last, 10_000);
          const batch = await consumer.fetch({ max_messages: want, expires: Math.max(1000, waitMs) });
          const before = out.length;
          for await (const m of batch) {
            out.push({ sequence: m.seq, data: m.data, publishedAt: Number(m.timestampNanos / 1_000_000n) });
            last = m.seq;
          }
          if (out.length === before) break;
          onPart?.(out.slice(before));
        }
      } finally {
        await jsm.consumers.delete(stream, name).catch(() => undefined);
      }
      return out;
    });
  }

  async head(stream: string): Promise<number> {
    const { jsm } = await this.connected();
    return this.call(`read the head of ${stream}`, async () => (await jsm.streams.info(stream)).state.last_seq);
  }

  async close(): Promise<void> {
    const c = await this.connection?.catch(() => undefined);
    this.connection = undefined;
    await c?.nc.drain().catch(() => undefined);
  }

  private connected() {
    this.connection ??= (async () => {
      const nc = await connect({ servers: this.url.replace(/^nats:\/\//, ''), reconnectTimeWait: 250 });
      return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
    })().catch((err: unknown) => {
      this.connection = undefined;
      throw this.unavailable('connect', err);
    });
    return this.connection;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  /** The broker's message goes to the log; the caller learns which operation failed, without the broker's address. */
  private unavailable(what: string, err: unknown): MeshError {
    if (err instanceof MeshError) return err;
    this.log.warn({ err, operation: what }, 'event stream operation failed');
    return new MeshError(ErrorCode.STREAM_UNAVAILABLE, `the event stream is unavailable: could not ${what}`);
  }
}

/**
 * Publishes events with one reply inbox for all their acks, as JetStream's asynchronous publishers do: a request each
 * (an inbox entry, a timer, a promise) cost about 50 µs of CPU per event, five times what this does. True when every
 * event was acknowledged as stored (or as a duplicate of one stored).
 */
async function publishWindow(nc: NatsConnection, subject: string, events: StreamEvent[]): Promise<boolean> {
  const inbox = createInbox();
  const acks = nc.subscribe(inbox, { max: events.length });
  const timer = setTimeout(() => acks.unsubscribe(), ACK_WAIT_MS);
  const stored = (async () => {
    let ok = 0;
    for await (const ack of acks) {
      let refused = true;
      try {
        refused = (ack.json() as { error?: unknown }).error !== undefined;
      } catch {
        // Not a PubAck (no stream captures the subject: a status, no body).
      }
      if (refused) {
        acks.unsubscribe();
        return false;
      }
      ok++;
    }
    return ok === events.length;
  })();
  for (const e of events) {
    const h = headers();
    h.set('Nats-Msg-Id', e.id);
    nc.publish(subject, e.data, { reply: inbox, headers: h });
  }
  try {
    return await stored;
  } finally {
    clearTimeout(timer);
  }
}
