import { createHash } from 'node:crypto';
import type { ObjectStore } from '../../platform/index.js';
import { Rng } from './rng.js';
import { rawPrefix } from '../../products/index.js';

export type RawRecord = Record<string, unknown>;

/**
 * Fractions of lines made dirty on purpose. Each dirty line has exactly one defect, so the pipeline's accounting can be
 * checked exactly.
 */
export interface DirtRates {
  malformed: number;
  duplicate: number;
  late: number;
  nulls: number;
  outOfRange: number;
}

export const DEFAULT_DIRT: DirtRates = {
  malformed: 0.003,
  duplicate: 0.01,
  late: 0.02,
  nulls: 0.003,
  outOfRange: 0.002,
};

export interface SourceReport {
  domain: string;
  source: string;
  format: 'jsonl' | 'csv';
  files: number;
  bytes: number;
  /** Distinct records the world produced (before dirt). */
  records: number;
  /** Lines written, duplicates and defects included. */
  lines: number;
  malformed: number;
  duplicates: number;
  late: number;
  nulls: number;
  outOfRange: number;
}

export interface SinkSpec {
  domain: string;
  source: string;
  format: 'jsonl' | 'csv';
  /** CSV column order. */
  columns?: readonly string[];
  /** Fields a null-defect may blank: required fields the pipeline must reject when missing. */
  requiredFields: readonly string[];
  /** Makes a record out of range in a way the domain's pipeline rejects. */
  outOfRange: (record: RawRecord, rng: Rng) => void;
  /** The object key of the file a line arriving on `day` (a yyyy-mm-dd string) goes into. */
  fileKey?: (date: string, record: RawRecord) => string;
}

interface Pending {
  sortKey: number;
  line: string;
  partitionKey: string;
  record: RawRecord;
}

const DAY_MS = 86_400_000;

/**
 * Buffers one source's lines by arrival day, injects dirt, and writes files through the object store
 * once no more lines can arrive for a day.
 */
export class FileSink {
  readonly report: SourceReport;
  protected readonly byDay = new Map<number, Pending[]>();
  private flushedThrough = -1;
  /** Live delivery: nothing can arrive before this instant any more. */
  private deliveredUntil = -Infinity;

  constructor(
    protected readonly spec: SinkSpec,
    protected readonly rng: Rng,
    private readonly dirt: DirtRates,
    protected readonly startMs: number,
    protected readonly days: number,
  ) {
    this.report = {
      domain: spec.domain,
      source: spec.source,
      format: spec.format,
      files: 0,
      bytes: 0,
      records: 0,
      lines: 0,
      malformed: 0,
      duplicates: 0,
      late: 0,
      nulls: 0,
      outOfRange: 0,
    };
  }

  /** A record that happened at `atMs`; records after the extraction time are not emitted. */
  emit(record: RawRecord, atMs: number, partitionKey = ''): void {
    const day = Math.floor((atMs - this.startMs) / DAY_MS);
    if (day >= this.days || day < 0) return;
    this.report.records++;
    let arrivalDay = day;
    let sortKey = atMs;
    if (this.rng.chance(this.dirt.late)) {
      const lateDay = day + this.rng.int(1, 5);
      if (lateDay < this.days) {
        arrivalDay = lateDay;
        sortKey = this.startMs + lateDay * DAY_MS + this.rng.int(0, DAY_MS - 1);
        this.report.late++;
      }
    }
    const roll = this.rng.next();
    let out = record;
    let malformed = false;
    if (roll < this.dirt.nulls) {
      out = { ...record, [this.rng.pick(this.spec.requiredFields)]: null };
      this.report.nulls++;
    } else if (roll < this.dirt.nulls + this.dirt.outOfRange) {
      out = structuredClone(record);
      this.spec.outOfRange(out, this.rng);
      this.report.outOfRange++;
    } else if (roll < this.dirt.nulls + this.dirt.outOfRange + this.dirt.malformed) {
      malformed = true;
      this.report.malformed++;
    }
    const line = this.serialize(out, malformed);
    this.push(arrivalDay, { sortKey, line, partitionKey, record: out });
    if (!malformed && out === record && this.rng.chance(this.dirt.duplicate)) {
      // At-least-once delivery: the same line again, a little later.
      const dupDay = arrivalDay + this.rng.int(0, 2);
      if (dupDay < this.days) {
        this.push(dupDay, { sortKey: sortKey + this.rng.int(1, 3_600_000), line, partitionKey, record: out });
        this.report.duplicates++;
      }
    }
  }

  /**
   * Live delivery: writes every line that has arrived before `untilMs` (days not yet complete included), each day's
   * lines as a new object whose name ends in `suffix`, and keeps the rest for a later delivery.
   */
  async deliverBefore(store: ObjectStore | undefined, untilMs: number, suffix: string): Promise<void> {
    for (const day of [...this.byDay.keys()].sort((a, b) => a - b)) {
      const pending = this.byDay.get(day)!;
      const due = pending.filter((p) => p.sortKey < untilMs);
      if (due.length === 0) continue;
      const rest = pending.filter((p) => p.sortKey >= untilMs);
      if (rest.length > 0) this.byDay.set(day, rest);
      else this.byDay.delete(day);
      due.sort((a, b) => a.sortKey - b.sortKey || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
      // Without a store (replaying to where a live run had got to), the lines are only dropped: they were written then.
      if (store) await this.writeDay(store, day, due, suffix);
      else this.skip(due);
    }
    this.deliveredUntil = Math.max(this.deliveredUntil, untilMs);
  }

  /** Keeps the sink's own counters (Kafka offsets) where writing these lines would have left them. */
  protected skip(_pending: Pending[]): void {}

  /** Writes every day up to and including `lastDay` (without a store: drops them, as `deliverBefore` does). */
  async flushThrough(store: ObjectStore | undefined, lastDay: number): Promise<void> {
    const ready = [...this.byDay.keys()].filter((d) => d <= lastDay).sort((a, b) => a - b);
    this.flushedThrough = Math.max(this.flushedThrough, Math.min(lastDay, this.days - 1));
    for (const day of ready) {
      const pending = this.byDay.get(day)!;
      this.byDay.delete(day);
      pending.sort((a, b) => a.sortKey - b.sortKey || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
      if (store) await this.writeDay(store, day, pending);
      else this.skip(pending);
    }
  }

  protected async writeDay(store: ObjectStore, day: number, pending: Pending[], suffix = ''): Promise<void> {
    const date = new Date(this.startMs + day * DAY_MS).toISOString().slice(0, 10);
    const files = new Map<string, string[]>();
    for (const p of pending) {
      const key = this.spec.fileKey!(date, p.record).replace(/(\.[a-z]+)$/, `${suffix}$1`);
      let lines = files.get(key);
      if (!lines) files.set(key, (lines = []));
      lines.push(p.line);
    }
    for (const [key, lines] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) await this.writeFile(store, key, lines);
  }

  protected async writeFile(store: ObjectStore, key: string, lines: string[]): Promise<void> {
    const header = this.spec.format === 'csv' ? `${this.spec.columns!.join(',')}\n` : '';
    const body = header + lines.join('\n') + '\n';
    await store.put(key, body, {
      tags: { domain: this.spec.domain, 'data-product': this.spec.source, layer: 'raw' },
      contentType: this.spec.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    });
    this.report.files++;
    this.report.lines += lines.length;
    this.report.bytes += Buffer.byteLength(body);
  }

  private push(day: number, pending: Pending): void {
    // A day already written never gets a second file: anything later arrives on the next open day. Live, nothing
    // arrives in the past: a line due before the last delivery comes with the next one.
    day = Math.max(day, this.flushedThrough + 1);
    if (pending.sortKey < this.deliveredUntil) {
      pending.sortKey = this.deliveredUntil;
      day = Math.max(day, Math.floor((this.deliveredUntil - this.startMs) / DAY_MS));
    }
    let list = this.byDay.get(day);
    if (!list) this.byDay.set(day, (list = []));
    list.push(pending);
  }

  private serialize(record: RawRecord, malformed: boolean): string {
    if (this.spec.format === 'jsonl') {
      const json = JSON.stringify(record);
      // Any proper prefix of a JSON object is invalid JSON: a truncated write.
      return malformed ? json.slice(0, this.rng.int(1, json.length - 2)) : json;
    }
    const line = this.spec.columns!.map((c) => csvField(record[c])).join(',');
    // A stray extra field: the CSV reader rejects the row for its column count.
    return malformed ? `${line},"${this.rng.pick(['n/a', 'ERR', '#REF!'])}"` : line;
  }
}

/**
 * The Kafka-to-object-store sink layout (as Kafka Connect's S3 sink writes it):
 * `topics/<topic>/partition=<p>/<topic>+<p>+<start offset>.json`, rotated by size and daily.
 */
export class KafkaTopicSink extends FileSink {
  private readonly offsets: number[];

  constructor(
    spec: SinkSpec,
    rng: Rng,
    dirt: DirtRates,
    startMs: number,
    days: number,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly flushSize: number,
  ) {
    super(spec, rng, dirt, startMs, days);
    this.offsets = new Array<number>(partitions).fill(0);
  }

  protected override skip(pending: Pending[]): void {
    for (const p of pending) this.offsets[partitionOf(p.partitionKey, this.partitions)]!++;
  }

  protected override async writeDay(store: ObjectStore, _day: number, pending: Pending[]): Promise<void> {
    const byPartition: Pending[][] = Array.from({ length: this.partitions }, () => []);
    for (const p of pending) byPartition[partitionOf(p.partitionKey, this.partitions)]!.push(p);
    for (let part = 0; part < this.partitions; part++) {
      const lines = byPartition[part]!;
      for (let i = 0; i < lines.length; i += this.flushSize) {
        const chunk = lines.slice(i, i + this.flushSize);
        const start = this.offsets[part]!;
        this.offsets[part] = start + chunk.length;
        const segment = `${this.topic}+${part}+${String(start).padStart(10, '0')}.json`;
        const key = `${rawPrefix(this.spec.domain)}topics/${this.topic}/partition=${part}/${segment}`;
        await this.writeFile(
          store,
          key,
          chunk.map((c) => c.line),
        );
      }
    }
  }
}

/** Where a stream sink sends its lines: each with the id the broker deduplicates it by. */
export interface EventPublisher {
  publish(events: { id: string; data: string }[]): Promise<void>;
}

/**
 * A source delivered as a stream (MESH_STREAM_URL): each line is published as one message, its event id the message id,
 * so a redelivery within the broker's window is stored once. A line that does not parse has the hash of its text.
 */
export class StreamSink extends FileSink {
  constructor(
    spec: SinkSpec,
    rng: Rng,
    dirt: DirtRates,
    startMs: number,
    days: number,
    private readonly publisher: EventPublisher,
  ) {
    super(spec, rng, dirt, startMs, days);
  }

  protected override async writeDay(_store: ObjectStore, _day: number, pending: Pending[]): Promise<void> {
    const events = pending.map((p) => {
      const id = p.record.event_id;
      return {
        id:
          typeof id === 'string' && id !== '' && p.line.includes(id)
            ? id
            : createHash('sha256').update(p.line).digest('hex'),
        data: p.line,
      };
    });
    await this.publisher.publish(events);
    this.report.files++;
    this.report.lines += events.length;
    this.report.bytes += events.reduce((n, e) => n + Buffer.byteLength(e.data), 0);
  }
}

function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return Math.abs(h) % partitions;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
