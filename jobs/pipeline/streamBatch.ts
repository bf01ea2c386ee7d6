import {
  createEventStream,
  platformAs,
  selectDomains,
  type DomainInfo,
  type EventStream,
  type Platform,
  type StreamMessage,
} from '../../platform/index.js';
import { loadContract, pipelineWritePrefixes } from '../../governance/index.js';
import type { IngestState, RunRecord, StreamBatch } from '../../products/index.js';
import type { EventPublisher } from '../generate/sinks.js';
import type { StreamFeed } from '../schedule/microBatches.js';
import { loadPipeline, streamSources, type PipelineSpec } from './spec.js';
import { eventDecoder, eventEncoder } from './eventCodec.js';
import type { DecodedBatch } from './avroBatch.js';
import { batchFolder, batchKey, lastSequence } from './landedBatches.js';

/**
 * A landed batch: each event's time (on the data clock) and publication (on the broker's, the wall clock), in ms;
 * events without a readable time are left out.
 */
export interface Landing {
  batch: StreamBatch;
  events: { time: number; publishedAt: number }[];
}

/**
 * Moves what is new on each stream source's stream into its raw prefix as one object, named by the sequences it holds,
 * so the run reads it like any raw file and the same guarantees hold (quarantine, dedup, accounting, quality, masking).
 * It continues after the last sequence landed or committed, whichever is later: a batch landed by a run killed before
 * its manifest is read by the next run (it is a raw object no run has read), never fetched twice, so every sequence is
 * in exactly one object. The run commits the position in its ingest state with the version it publishes.
 */
export async function landStreamBatches(
  platform: Pick<Platform, 'store' | 'config' | 'control'>,
  pipeline: PipelineSpec,
  stream: EventStream,
  state: IngestState | undefined,
  waitMs = 500,
): Promise<Landing[]> {
  const landed: Landing[] = [];
  for (const source of streamSources(pipeline)) {
    const { stream: name, subject } = source.stream;
    await stream.ensure(name, [subject]);
    const folder = batchFolder(pipeline.domain, source);
    const after = Math.max(
      lastSequence((await platform.store.list(folder)).map((f) => f.key)),
      state?.sources[source.name]?.position ?? 0,
    );
    // Each part read is decoded as it arrives (Avro on a worker thread), while the next one is read.
    const decode = source.stream.schema
      ? eventDecoder(platform, { ...source.stream, schema: source.stream.schema }, source.eventTime)
      : jsonDecoder(source.eventTime);
    const parts: Promise<DecodedBatch>[] = [];
    let handed = 0;
    const handOver = (part: StreamMessage[]) => {
      const decoding = decode(part.map((m) => m.data));
      // Awaited below, unless the read fails first.
      decoding.catch(() => undefined);
      parts.push(decoding);
      handed += part.length;
    };
    const messages = await stream.read(name, after, platform.config.streamBatchMax, waitMs, handOver);
    if (messages.length === 0) continue;
    if (handed < messages.length) handOver(messages.slice(handed));
    const decoded = await Promise.all(parts);
    const first = messages[0]!.sequence;
    const last = messages.at(-1)!.sequence;
    await platform.store.put(batchKey(folder, subject, first, last), decoded.map((d) => d.body).join(''), {
      tags: { domain: pipeline.domain, 'data-product': source.name, layer: 'raw' },
      contentType: 'application/x-ndjson',
    });
    landed.push({
      batch: {
        source: source.name,
        first,
        last,
        messages: messages.length,
        lag: Math.max(0, (await stream.head(name)) - last),
      },
      events: decoded
        .flatMap((d) => [...d.times])
        .map((time, i) => ({ time, publishedAt: messages[i]!.publishedAt }))
        .filter((e) => Number.isFinite(e.time)),
    });
  }
  return landed;
}

/**
 * JSON events, one line each: a payload with line breaks (not one JSON event) stays one line, quarantined as such.
 * Async as Avro's is, so both decode a part while the next is read.
 */
function jsonDecoder(eventTime?: string): (batch: Uint8Array[]) => Promise<DecodedBatch> {
  const text = new TextDecoder();
  return async (batch) => {
    const lines = batch.map((data) => text.decode(data).replace(/\r?\n/g, ' '));
    const times = new Float64Array(lines.length).fill(Number.NaN);
    if (eventTime)
      lines.forEach((line, i) => {
        try {
          times[i] = Date.parse(String((JSON.parse(line) as Record<string, unknown>)[eventTime]));
        } catch {}
      });
    return { body: lines.length > 0 ? `${lines.join('\n')}\n` : '', times };
  };
}

/**
 * p50 and p99, in seconds, of each event's age when it became visible: from its time (data clock, `visibleAt`) or from
 * its publication (wall clock, `visibleAtWall`), whichever is shorter. A backfill of old events is as fresh as its
 * publication: no event can be queryable before it is published.
 */
export function freshnessOf(
  events: Landing['events'],
  visibleAt: number,
  visibleAtWall = Date.now(),
): StreamBatch['freshness'] {
  if (events.length === 0) return undefined;
  const ages = events
    .map((e) => Math.min(visibleAt - e.time, visibleAtWall - e.publishedAt) / 1000)
    .sort((a, b) => a - b);
  const at = (q: number) => Number(ages[Math.floor(q * (ages.length - 1))]!.toFixed(3));
  return { p50Seconds: at(0.5), p99Seconds: at(0.99) };
}

/**
 * The producer side of a domain's stream source, as its `pipeline.yaml` declares it (the simulation publishes sales
 * order events through it); undefined without MESH_STREAM_URL or when the source is not a stream.
 */
export async function streamPublisher(
  platform: Pick<Platform, 'config' | 'log' | 'control'>,
  domainName: string,
  sourceName: string,
): Promise<(EventPublisher & { close(): Promise<void> }) | undefined> {
  const [domain] = selectDomains(platform.config.domainsDir, [domainName]);
  const sources = domain && loadPipeline(domain, loadContract(domain.contractFile, domain.name)).sources;
  const spec = sources?.find((s) => s.name === sourceName)?.stream;
  const stream = spec && createEventStream(platform.config, platform.log);
  if (!spec || !stream) return undefined;
  await stream.ensure(spec.stream, [spec.subject]);
  const encode = spec.schema ? await eventEncoder(platform, { ...spec, schema: spec.schema }) : undefined;
  return {
    publish: (events) =>
      stream.publish(spec.subject, encode ? events.map((e) => ({ id: e.id, data: encode(e.data) })) : events),
    close: () => stream.close(),
  };
}

/** The stream-fed domains among these, with the stream each reads (none without MESH_STREAM_URL). */
export function streamFeeds(platform: Pick<Platform, 'config'>, domains: DomainInfo[]): StreamFeed[] {
  if (!platform.config.streamUrl) return [];
  return domains.flatMap((d) =>
    loadPipeline(d, loadContract(d.contractFile, d.name)).sources.flatMap((s) =>
      s.stream ? [{ domain: d.name, stream: s.stream.stream, subject: s.stream.subject }] : [],
    ),
  );
}

/**
 * The distinct values of `fields` (all present, text) in the events of the stream batches a run read first
 * (RunRecord.streamed) from `source`, read as the domain's pipeline role (raw data is the domain's alone), and the
 * earliest of their `timeField`; a line that does not parse names none (the run quarantined it).
 */
export async function streamedValues(
  shared: Platform,
  run: Pick<RunRecord, 'domain' | 'streamed'>,
  source: string,
  fields: string[],
  timeField?: string,
): Promise<{ values: string[][]; earliest?: Date }> {
  const platform = platformAs(shared, `${run.domain}-pipeline`, pipelineWritePrefixes(run.domain));
  const seen = new Map<string, string[]>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const key of run.streamed?.find((s) => s.source === source)?.keys ?? [])
    for (const line of (await platform.store.get(key)).toString('utf8').split('\n')) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const values = fields.map((f) => event[f]);
      if (!values.every((v) => typeof v === 'string' && v !== '')) continue;
      seen.set(values.join('\0'), values as string[]);
      const time = timeField ? Date.parse(String(event[timeField])) : Number.NaN;
      if (time < earliest) earliest = time;
    }
  return { values: [...seen.values()], ...(Number.isFinite(earliest) ? { earliest: new Date(earliest) } : {}) };
}
