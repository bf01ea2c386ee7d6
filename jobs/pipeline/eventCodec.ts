import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { framed, type DomainInfo, type Platform } from '../../platform/index.js';
import {
  EventSchemaRegistry,
  loadContract,
  parseEventSchema,
  valueSubject,
  type EventSchemaCandidate,
} from '../../governance/index.js';
import { loadPipeline, type SourceSpec } from './spec.js';
import { pack, schemaIdOf, type DecodeJob, type DecodedBatch } from './avroBatch.js';

type StreamSpec = NonNullable<SourceSpec['stream']>;

/**
 * The producer's encoder for a stream source with an Avro schema: the schema is registered under the source's subject
 * (checked against its compatibility mode; the version already there when unchanged), and each event is encoded with
 * it, framed with its id. An event that is not JSON or does not fit the schema cannot be encoded: it is sent as its
 * text, as a producer without the schema would, and the consumer quarantines it.
 */
export async function eventEncoder(
  platform: Pick<Platform, 'control'>,
  spec: StreamSpec & { schema: NonNullable<StreamSpec['schema']> },
): Promise<(line: string) => string | Uint8Array> {
  const type = parseEventSchema(spec.schema.text, spec.schema.file);
  const { id } = await new EventSchemaRegistry(platform).register(
    valueSubject(spec.subject),
    type,
    spec.schema.compatibility,
  );
  return (line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return line;
    }
    return type.isValid(value) ? framed(id, type.toBuffer(value)) : line;
  };
}

/**
 * The consumer's decoder of a stream source's batches (see `batchDecoder`): the writer schemas their ids name are
 * looked up here, and the messages decoded on a worker thread, so a batch's first part decodes while the rest is read.
 */
export function eventDecoder(
  platform: Pick<Platform, 'control'>,
  spec: StreamSpec & { schema: NonNullable<StreamSpec['schema']> },
  eventTime?: string,
): (batch: Uint8Array[]) => Promise<DecodedBatch> {
  const registry = new EventSchemaRegistry(platform);
  const subject = valueSubject(spec.subject);
  const writers: DecodeJob['writers'] = {};
  // A registry that cannot be reached fails the run (the batch is read again by the next): only a message naming a
  // schema the registry does not have for this stream is undecodable.
  const writerOf = async (id: number): Promise<string | { error: string }> => {
    const version = await registry.byId(id);
    if (!version) return { error: `schema id ${id} is not registered` };
    if (version.subject !== subject) return { error: `schema id ${id} is of ${version.subject}, not ${subject}` };
    return version.schema;
  };
  return async (batch) => {
    for (const message of batch) {
      const id = schemaIdOf(message);
      if (id !== undefined && !(id in writers)) writers[id] = await writerOf(id);
    }
    return decodeOffThread({
      reader: spec.schema.text,
      writers,
      batch: pack(batch),
      ...(eventTime ? { eventTime } : {}),
    });
  };
}

/** The decoding worker, started on first use; it holds the process open only while a batch is on it. */
let worker: { thread: Worker; waiting: Map<number, (reply: WorkerReply) => void> } | undefined;
let jobs = 0;

interface WorkerReply {
  result?: DecodedBatch;
  error?: string;
}

function decodeOffThread(job: DecodeJob): Promise<DecodedBatch> {
  if (!worker) {
    const thread = new Worker(new URL('./decodeWorker.mjs', import.meta.url));
    const waiting = new Map<number, (reply: WorkerReply) => void>();
    const current = { thread, waiting };
    const fail = (err: unknown) => {
      if (worker === current) worker = undefined;
      for (const reply of waiting.values()) reply({ error: `the decoding worker stopped: ${String(err)}` });
      waiting.clear();
    };
    thread.on('message', ({ id, ...reply }: WorkerReply & { id: number }) => {
      waiting.get(id)?.(reply);
      waiting.delete(id);
      if (waiting.size === 0) thread.unref();
    });
    thread.on('error', fail);
    thread.on('exit', (code) => fail(`exit code ${code}`));
    worker = current;
  }
  const { thread, waiting } = worker;
  const id = ++jobs;
  thread.ref();
  return new Promise((resolve, reject) => {
    waiting.set(id, ({ result, error }) => (result ? resolve(result) : reject(new Error(error))));
    thread.postMessage({ id, job }, [job.batch.bytes.buffer as ArrayBuffer, job.batch.ends.buffer as ArrayBuffer]);
  });
}

/** The event schemas a domain's working copy declares for its stream sources, as schema checks take them. */
export function eventSchemaCandidates(domain: DomainInfo): EventSchemaCandidate[] {
  return loadPipeline(domain, loadContract(domain.contractFile, domain.name)).sources.flatMap((s) =>
    s.stream?.schema
      ? [
          {
            subject: s.stream.subject,
            file: path.join(domain.dir, s.stream.schema.file),
            text: s.stream.schema.text,
            compatibility: s.stream.schema.compatibility,
          },
        ]
      : [],
  );
}
