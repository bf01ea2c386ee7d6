import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { MeshError, ErrorCode, type DomainInfo } from '../../platform/index.js';
import { COMPATIBILITY, parseEventSchema, type Compatibility, type DataContract } from '../../governance/index.js';

/** A domain's `pipeline.yaml`: its raw sources and the SQL that makes each curated dataset. */
export interface SourceSpec {
  name: string;
  format: 'jsonl' | 'csv';
  /** Below `<domain>/`, e.g. `raw/topics/sales.orders/`. */
  prefix: string;
  /**
   * CSV: the columns in file order. JSON lines: the fields to extract (dotted paths such as `recipient.name`
   * become `recipient_name`). Either way every value arrives as text and the stage SQL types it.
   */
  columns?: string[];
  /** SQL over `input` that types each record and sets `_reject_reason` (NULL keeps the record). */
  stageSql: string;
  /** Records with the same key are duplicates; the first in arrival order is kept. */
  key: string[];
  /** Optional event-time column, to count records that arrived out of order. */
  eventTime?: string;
  /**
   * Read from an event stream when MESH_STREAM_URL is set (else as files under `prefix`): the broker's stream and the
   * subject its events are published on, and the consumer's name. With `schema`, events are Avro, encoded with that
   * schema as registered (subject `<subject>-value`, its compatibility mode BACKWARD unless said), each message
   * carrying its schema id.
   */
  stream?: {
    broker: 'nats';
    stream: string;
    subject: string;
    consumer: string;
    schema?: { file: string; text: string; compatibility: Compatibility };
  };
}

/** A source read from an event stream. */
export type StreamSourceSpec = SourceSpec & Required<Pick<SourceSpec, 'stream'>>;

export const streamSources = (pipeline: Pick<PipelineSpec, 'sources'>) =>
  pipeline.sources.filter((s): s is StreamSourceSpec => s.stream !== undefined);

export interface DatasetSpec {
  name: string;
  /** SQL over `src.<source>` (accepted records) and earlier `curated.<dataset>` tables. */
  sql: string;
  /** The sources the SQL reads (`src.<name>`). */
  reads: string[];
  /**
   * A column of the dataset and of every source it reads such that a row depends only on the source records with the
   * same value: an incremental run recomputes just the values its new records carry. Without it, any new record
   * recomputes all.
   */
  by?: string;
  /**
   * SQL over the dataset's columns naming each row's file (`strftime(placed_at, '%Y-%m')`): a run rewrites only the
   * files its rows touch.
   */
  partitionBy?: string;
}

export interface PipelineSpec {
  domain: string;
  sources: SourceSpec[];
  datasets: DatasetSpec[];
  /** A hash input: the whole definition, SQL included. */
  text: string;
}

const NAME = /^[a-z][a-z0-9_]*$/;

export function loadPipeline(domain: DomainInfo, contract: DataContract): PipelineSpec {
  const file = domain.pipelineFile;
  const fail = (msg: string): never => {
    throw new MeshError(ErrorCode.PIPELINE_INVALID, `${file}: ${msg}`, { file, domain: domain.name });
  };
  if (!fs.existsSync(file)) fail('missing: every domain declares its pipeline');
  const raw = parse(fs.readFileSync(file, 'utf8')) as {
    sources?: Record<
      string,
      {
        format?: string;
        prefix?: string;
        columns?: string[];
        stage?: string;
        key?: string[];
        eventTime?: string;
        stream?: {
          broker?: string;
          stream?: string;
          subject?: string;
          consumer?: string;
          schema?: string;
          compatibility?: string;
        };
      }
    >;
    datasets?: { name?: string; sql?: string; by?: string; partitionBy?: string }[];
  } | null;
  const readSql = (rel: string | undefined, what: string): string => {
    if (!rel) return fail(`${what}: a SQL file is required`);
    const p = path.join(domain.dir, rel);
    if (!fs.existsSync(p)) return fail(`${what}: SQL file ${rel} does not exist`);
    return fs.readFileSync(p, 'utf8');
  };
  const schemas = new Map<string, NonNullable<NonNullable<SourceSpec['stream']>['schema']>>();
  const sources: SourceSpec[] = Object.entries(raw?.sources ?? {}).map(([name, s]) => {
    if (!NAME.test(name)) fail(`source "${name}": names are lower_snake_case`);
    if (s.format !== 'jsonl' && s.format !== 'csv') fail(`source "${name}": format must be jsonl or csv`);
    if (!s.prefix || !s.prefix.startsWith('raw/')) fail(`source "${name}": prefix must start with raw/`);
    if (s.format === 'csv' && !(Array.isArray(s.columns) && s.columns.length > 0))
      fail(`source "${name}": csv sources list their columns`);
    if (!Array.isArray(s.key) || s.key.length === 0)
      fail(`source "${name}": key (the columns that identify a record) is required`);
    if (s.stream !== undefined) {
      const { broker, stream, subject, consumer } = s.stream ?? {};
      if (broker !== 'nats') fail(`source "${name}": stream.broker must be nats (NATS JetStream)`);
      if (s.format !== 'jsonl') fail(`source "${name}": a stream source's events are JSON lines (format: jsonl)`);
      if (!stream || !/^[A-Za-z0-9_-]+$/.test(stream)) fail(`source "${name}": stream.stream must name a stream`);
      if (!subject || !/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(subject))
        fail(`source "${name}": stream.subject must be a dotted subject such as sales.order_events`);
      if (!consumer || !/^[a-z0-9_-]+$/.test(consumer))
        fail(`source "${name}": stream.consumer must name the consumer`);
      const mode = s.stream?.compatibility ?? 'BACKWARD';
      if (!(COMPATIBILITY as readonly string[]).includes(mode))
        fail(`source "${name}": stream.compatibility must be one of ${COMPATIBILITY.join(', ')} (got ${mode})`);
      if (s.stream?.schema !== undefined) {
        const p = path.join(domain.dir, s.stream.schema);
        if (!fs.existsSync(p)) fail(`source "${name}": stream.schema ${s.stream.schema} does not exist`);
        const text = fs.readFileSync(p, 'utf8');
        parseEventSchema(text, `${file}: source "${name}": stream.schema ${s.stream.schema}`);
        schemas.set(name, { file: s.stream.schema, text, compatibility: mode as Compatibility });
      }
    }
    return {
      name,
      format: s.format as SourceSpec['format'],
      prefix: s.prefix!,
      columns: s.columns,
      stageSql: readSql(s.stage, `source "${name}" stage`),
      key: s.key!,
      eventTime: s.eventTime,
      ...(s.stream
        ? {
            stream: {
              broker: 'nats' as const,
              stream: s.stream.stream!,
              subject: s.stream.subject!,
              consumer: s.stream.consumer!,
              ...(schemas.has(name) ? { schema: schemas.get(name)! } : {}),
            },
          }
        : {}),
    };
  });
  if (sources.length === 0) fail('at least one source is required');
  const datasets: DatasetSpec[] = (raw?.datasets ?? []).map((d, i) => {
    if (!d.name || !NAME.test(d.name)) fail(`datasets[${i}]: name must be lower_snake_case`);
    const sql = readSql(d.sql, `dataset "${d.name}"`);
    const reads = [...new Set([...sql.matchAll(/\bsrc\.("?)([a-z][a-z0-9_]*)\1/g)].map((m) => m[2]!))];
    for (const r of reads)
      if (!sources.some((s) => s.name === r)) fail(`dataset "${d.name}" reads src.${r}, which is not a source`);
    if (d.by !== undefined && !(typeof d.by === 'string' && NAME.test(d.by)))
      fail(`dataset "${d.name}": by must name a column`);
    if (d.partitionBy !== undefined && !(typeof d.partitionBy === 'string' && d.partitionBy.trim() !== ''))
      fail(`dataset "${d.name}": partitionBy must be a SQL expression`);
    return { name: d.name!, sql, reads, by: d.by, partitionBy: d.partitionBy };
  });
  for (const d of datasets) {
    const object = contract.schema.find((o) => o.name === d.name);
    for (const column of [d.by].filter((c): c is string => c !== undefined)) {
      if (object && !object.properties.some((p) => p.name === column))
        fail(`dataset "${d.name}": by column "${column}" is not in the contract`);
    }
  }
  const declared = new Set(contract.schema.map((o) => o.name));
  for (const d of datasets)
    if (!declared.has(d.name)) fail(`dataset "${d.name}" is not in the data contract (${[...declared].join(', ')})`);
  for (const name of declared)
    if (!datasets.some((d) => d.name === name))
      fail(`the contract declares dataset "${name}" but the pipeline does not build it`);
  const text = JSON.stringify({ sources, datasets });
  return { domain: domain.name, sources, datasets, text };
}
