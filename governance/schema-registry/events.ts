import avro from 'avsc';
import { MeshError, ErrorCode, isMeshError, updateRecord, type Platform } from '../../platform/index.js';

/** Confluent Schema Registry's compatibility modes: which earlier versions a new one must be compatible with. */
export const COMPATIBILITY = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type Compatibility = (typeof COMPATIBILITY)[number];

/** One registered version of a subject's Avro schema. */
export interface EventSchemaVersion {
  /** `<stream subject>-value`, as Confluent's topic name strategy names it. */
  subject: string;
  version: number;
  /** Registry-wide, carried by every message encoded with it. */
  id: number;
  /** The schema in Avro's canonical form. */
  schema: string;
  registeredAt: string;
}

interface SubjectRecord {
  compatibility: Compatibility;
  versions: EventSchemaVersion[];
}

const subjectRecord = (subject: string) => `schemas/events/subjects/${subject}`;
const idRecord = (id: number) => `schemas/events/ids/${id}`;
const NEXT_ID = 'schemas/events/next-id';
/** Registrations racing on one subject: each lost race reads the winner's version and judges against it again. */
const REGISTER_ATTEMPTS = 8;

/** The subject of a stream's message values (Confluent's TopicNameStrategy). */
export const valueSubject = (streamSubject: string) => `${streamSubject}-value`;

/** An Avro schema from its JSON text; a schema Avro refuses is a PIPELINE_INVALID naming where it came from. */
export function parseEventSchema(text: string, where: string): avro.Type {
  try {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema);
  } catch (err) {
    throw new MeshError(ErrorCode.PIPELINE_INVALID, `${where}: not an Avro schema: ${(err as Error).message}`);
  }
}

/**
 * Why `candidate` may not follow `earlier` (oldest first) under `mode`, one line per field; empty when it may.
 * BACKWARD: consumers on the candidate read what the earlier schema wrote; FORWARD: consumers on the earlier read what
 * the candidate writes; FULL: both. The plain modes judge the latest version, the transitive ones every version.
 */
export function compatibilityProblems(candidate: avro.Type, earlier: avro.Type[], mode: Compatibility): string[] {
  if (mode === 'NONE' || earlier.length === 0) return [];
  const judged = mode.endsWith('_TRANSITIVE') ? earlier : earlier.slice(-1);
  const problems = new Set<string>();
  for (const old of judged) {
    if (mode.startsWith('BACKWARD') || mode.startsWith('FULL'))
      for (const p of readProblems(candidate, old, '')) problems.add(`backward: ${p}`);
    if (mode.startsWith('FORWARD') || mode.startsWith('FULL'))
      for (const p of readProblems(old, candidate, '')) problems.add(`forward: ${p}`);
  }
  return [...problems];
}

/** What stops `reader` from reading data written with `writer`, by field (Avro's schema resolution rules). */
function readProblems(reader: avro.Type, writer: avro.Type, path: string): string[] {
  if (canRead(reader, writer)) return [];
  if (reader instanceof avro.types.RecordType && writer instanceof avro.types.RecordType) {
    const problems: string[] = [];
    for (const field of reader.fields) {
      const name = `${path}${field.name}`;
      const written = writer.fields.find((f) => f.name === field.name || field.aliases.includes(f.name));
      if (!written) {
        if (field.defaultValue() === undefined)
          problems.push(`field "${name}" is read but not written, and has no default`);
        continue;
      }
      problems.push(...readProblems(field.type, written.type, `${name}.`));
    }
    if (problems.length > 0) return problems;
  }
  const where = path ? `field "${path.slice(0, -1)}"` : 'the schema';
  return [`${where}: ${describe(writer)} cannot be read as ${describe(reader)}`];
}

function canRead(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

const describe = (t: avro.Type) => JSON.stringify(t.schema());

/**
 * Avro event schemas by subject, with a compatibility mode each, in the control plane (so every machine sees one
 * registry): versions numbered per subject, ids registry-wide. Registering what a subject already holds returns that
 * version, as Confluent's registry does.
 */
export class EventSchemaRegistry {
  private readonly byIdCache = new Map<number, EventSchemaVersion>();

  constructor(private readonly platform: Pick<Platform, 'control'>) {}

  async versions(subject: string): Promise<EventSchemaVersion[]> {
    return (await this.platform.control.read<SubjectRecord>(subjectRecord(subject)))?.value.versions ?? [];
  }

  async compatibility(subject: string): Promise<Compatibility | undefined> {
    return (await this.platform.control.read<SubjectRecord>(subjectRecord(subject)))?.value.compatibility;
  }

  /** Why `schema` may not be registered under `subject` now (empty: it may), judged by `mode`. */
  async check(subject: string, schema: avro.Type, mode: Compatibility): Promise<string[]> {
    const earlier = (await this.versions(subject)).map((v) => avro.Type.forSchema(JSON.parse(v.schema)));
    return compatibilityProblems(schema, earlier, mode);
  }

  /**
   * The subject's version holding `schema`, registered now if new; an incompatible schema is refused. The check and
   * the version and id records are one commit on the subject's revision: two schemas registered at once are each
   * judged against the other's version, and no version is listed without its id.
   */
  async register(subject: string, schema: avro.Type, mode: Compatibility): Promise<EventSchemaVersion> {
    const { control } = this.platform;
    const canonical = JSON.stringify(schema.schema());
    let id: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const current = await control.read<SubjectRecord>(subjectRecord(subject));
      const versions = current?.value.versions ?? [];
      const existing = versions.find((v) => v.schema === canonical);
      if (existing) return existing;
      const problems = compatibilityProblems(
        schema,
        versions.map((v) => avro.Type.forSchema(JSON.parse(v.schema))),
        mode,
      );
      if (problems.length > 0)
        throw new MeshError(
          ErrorCode.SCHEMA_CHECK_FAILED,
          `${subject}: the event schema is not ${mode} compatible with the registered versions:\n  - ` +
            problems.join('\n  - '),
          { subject, problems },
        );
      id ??= (await updateRecord<{ next: number }>(control, NEXT_ID, (n) => ({ next: (n?.next ?? 0) + 1 })))!.next;
      const registered: EventSchemaVersion = {
        subject,
        version: (versions.at(-1)?.version ?? 0) + 1,
        id,
        schema: canonical,
        registeredAt: new Date().toISOString(),
      };
      try {
        await control.commit([
          {
            key: subjectRecord(subject),
            value: { compatibility: mode, versions: [...versions, registered] },
            expected: current?.revision ?? 0,
          },
          { key: idRecord(id), value: registered, expected: 0 },
        ]);
        return registered;
      } catch (err) {
        if (!isMeshError(err, ErrorCode.CONFLICT) || attempt >= REGISTER_ATTEMPTS) throw err;
      }
    }
  }

  /** The version a message's schema id names (cached: a registered version never changes). */
  async byId(id: number): Promise<EventSchemaVersion | undefined> {
    const cached = this.byIdCache.get(id);
    if (cached) return cached;
    const found = (await this.platform.control.read<EventSchemaVersion>(idRecord(id)))?.value;
    if (found) this.byIdCache.set(id, found);
    return found;
  }
}
