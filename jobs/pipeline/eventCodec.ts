import path from 'node:path';
import type avro from 'avsc';
import { framed, unframed, type DomainInfo, type Platform } from '../../platform/index.js';
import {
  EventSchemaRegistry,
  loadContract,
  parseEventSchema,
  valueSubject,
  type EventSchemaCandidate,
} from '../../governance/index.js';
import { loadPipeline, type SourceSpec } from './spec.js';

type StreamSpec = NonNullable<SourceSpec['stream']>;

/** A raw line that stands for a message that did not decode: the load step quarantines it with the reason. */
export const UNDECODABLE = '!undecodable: ';

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

/** A decoded message: its JSON line, and the event itself when it decoded. */
export interface DecodedEvent {
  line: string;
  value?: Record<string, unknown>;
}

/**
 * The consumer's decoder of a batch: each message by the schema its id names, read as the source's own schema (Avro's
 * schema resolution: a field the writer lacked takes its default), into one JSON line. A message that is not framed,
 * names an unknown id, or does not decode becomes an UNDECODABLE line with the reason and its bytes in base64.
 */
export function eventDecoder(
  platform: Pick<Platform, 'control'>,
  spec: StreamSpec & { schema: NonNullable<StreamSpec['schema']> },
): (batch: Uint8Array[]) => Promise<DecodedEvent[]> {
  const reader = parseEventSchema(spec.schema.text, spec.schema.file);
  const registry = new EventSchemaRegistry(platform);
  // One lookup per schema id, kept for the decoder's life (a registered version never changes). A writer schema equal
  // to the reader's needs no resolution (decoding with the reader alone: 550 against 650 ms per 100,000 events).
  const resolvers = new Map<number, avro.Resolver | 'same' | Error>();
  const resolve = async (id: number): Promise<avro.Resolver | 'same' | Error> => {
    try {
      const version = await registry.byId(id);
      if (!version) throw new Error(`schema id ${id} is not registered`);
      if (version.subject !== valueSubject(spec.subject))
        throw new Error(`schema id ${id} is of ${version.subject}, not ${valueSubject(spec.subject)}`);
      const writer = parseEventSchema(version.schema, `schema id ${id}`);
      return writer.equals(reader) ? 'same' : reader.createResolver(writer);
    } catch (err) {
      return err as Error;
    }
  };
  const reject = (reason: string, data: Uint8Array): DecodedEvent => ({
    line: `${UNDECODABLE}${reason.replace(/[\t\r\n]+/g, ' ')}\t${Buffer.from(data).toString('base64')}`,
  });
  return async (batch) => {
    const messages = batch.map((data) => ({ data, message: unframed(data) }));
    for (const { message } of messages)
      if (message && !resolvers.has(message.schemaId)) resolvers.set(message.schemaId, await resolve(message.schemaId));
    return messages.map(({ data, message }) => {
      if (!message) return reject('not an Avro message of the registry (no schema id)', data);
      const resolver = resolvers.get(message.schemaId)!;
      if (resolver instanceof Error) return reject(resolver.message, data);
      try {
        const bytes = Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength);
        const value = (resolver === 'same' ? reader.fromBuffer(bytes) : reader.fromBuffer(bytes, resolver)) as Record<
          string,
          unknown
        >;
        return { line: JSON.stringify(value), value };
      } catch (err) {
        return reject(`does not decode with schema id ${message.schemaId}: ${(err as Error).message}`, data);
      }
    });
  };
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
