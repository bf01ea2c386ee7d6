import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { isObjectType, isInterfaceType } from 'graphql';
import { MeshError, ErrorCode, isMeshError, listDomains, type Platform } from '../../platform/index.js';
import { loadEndpoints } from '../../products/index.js';
import { loadPolicy } from '../policy.js';
import { scheduleProblems } from '../contracts/schedule.js';
import type { DataContract } from '../contracts/types.js';
import { composeSupergraph, loadSupergraphConfig, type SubgraphSource } from '../composition.js';
import { contractChanges, schemaChanges, subgraphSchema, type SchemaChange } from './changes.js';
import { SchemaRegistry, type RegistryBasis, type SchemaVersion } from './registry.js';
import { readUsage, type OperationUsage } from './usage.js';
import { restBreaks } from './restBreaks.js';
import { EventSchemaRegistry, parseEventSchema, valueSubject, type Compatibility } from './events.js';

export interface CheckOptions {
  subgraph: string;
  /** Candidate SDL (default: the subgraph's working-copy schema file). */
  sdl?: string;
  /** Operations seen in this many days count (default 7). */
  windowDays?: number;
  excludeClients?: string[];
  /** Republishing an earlier version: its SDL and contract are the candidate; its semver need not grow. */
  rollbackTo?: SchemaVersion;
  /** The Avro schemas of the domain's event streams, checked against what the registry holds under their modes. */
  events?: EventSchemaCandidate[];
}

/** A stream's event schema as the domain's working copy declares it. */
export interface EventSchemaCandidate {
  /** The stream subject (`sales.order_events`); registered as `<subject>-value`. */
  subject: string;
  file: string;
  text: string;
  compatibility: Compatibility;
}

export interface CheckedChange extends SchemaChange {
  /** Recorded operations (per client) that use what a breaking change breaks. */
  usedBy: { operation: string; signature: string; client: string; count: number; lastSeen: string }[];
}

export interface CheckStep {
  name: 'composition' | 'changes' | 'operations' | 'rest' | 'versioning' | 'contract' | 'events';
  ok: boolean;
  summary: string;
  problems: string[];
}

export interface CheckReport {
  ok: boolean;
  subgraph: string;
  version: string;
  previous: { seq: number; version: string } | null;
  /** Schema and contract are what was last published: publishing records nothing new. */
  unchanged: boolean;
  steps: CheckStep[];
  changes: CheckedChange[];
  /** What the candidate composes into, when it does. */
  supergraphSdl?: string;
  /** The registry head the check composed against: a publication of it replaces exactly that head. */
  basis: RegistryBasis;
}

/** A subgraph as the checks see it: its entry in supergraph.yaml and the files beside its schema. */
export interface SubgraphFiles {
  source: SubgraphSource;
  dir: string;
  version: string;
  changelog: string;
  contract: string | null;
}

export function subgraphFiles(platform: Platform, name: string): SubgraphFiles {
  const all = loadSupergraphConfig(platform.config.gateway.config);
  const source = all.find((s) => s.name === name);
  if (!source?.schemaFile)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `no subgraph "${name}" in ${platform.config.gateway.config} (known: ${all.map((s) => s.name).join(', ')})`,
    );
  const dir = path.dirname(source.schemaFile);
  const read = (file: string) =>
    fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : null;
  const pkg = read('package.json');
  return {
    source,
    dir,
    version: pkg ? String((JSON.parse(pkg) as { version?: string }).version ?? '0.0.0') : '0.0.0',
    changelog: read('CHANGELOG.md') ?? '',
    contract: read('contract.odcs.yaml'),
  };
}

/**
 * Everything a domain team learns before merging a schema or contract change, in order: composition with every other
 * subgraph's published schema, the classified changes against its own last publication, which recorded operations a
 * breaking change would break, the versioning rules, and data contract compatibility.
 */
export async function checkSchema(platform: Platform, options: CheckOptions): Promise<CheckReport> {
  const registry = new SchemaRegistry(platform);
  const files = subgraphFiles(platform, options.subgraph);
  // The head first, then exactly the versions it names: a publication meanwhile cannot tear what is composed.
  const { head, revision } = await registry.head();
  const headed = async (name: string) => {
    const seq = head?.subgraphs[name];
    return seq === undefined ? registry.current(name) : registry.get(name, seq);
  };
  const previous = (await headed(options.subgraph)) ?? null;
  const sdl = options.rollbackTo?.sdl ?? options.sdl ?? files.source.sdl;
  const contract = options.rollbackTo ? options.rollbackTo.contract : files.contract;
  const version = options.rollbackTo?.version ?? files.version;
  const unchanged = previous !== null && previous.sdl === sdl && previous.contract === contract;
  const steps: CheckStep[] = [];

  // 1. Composition with what the others have published (their working copy until they first publish).
  let supergraphSdl: string | undefined;
  let candidate: ReturnType<typeof composeSupergraph> | undefined;
  const basis: RegistryBasis = { revision, subgraphs: {} };
  const published = await Promise.all(
    loadSupergraphConfig(platform.config.gateway.config).map(async (s) => {
      const version = await headed(s.name);
      if (version) basis.subgraphs[s.name] = version.seq;
      return { ...s, sdl: version?.sdl ?? s.sdl };
    }),
  );
  try {
    const sources = published.map((s) => (s.name === options.subgraph ? { ...s, sdl } : s));
    candidate = composeSupergraph(sources);
    supergraphSdl = candidate.supergraphSdl;
    steps.push({
      name: 'composition',
      ok: true,
      summary: `composes with ${sources.length - 1} other subgraph(s)`,
      problems: [],
    });
  } catch (err) {
    if (!isMeshError(err, ErrorCode.COMPOSITION_FAILED)) throw err;
    const problems = (err.details.problems as { code: string; message: string; locations?: string[] }[]).map(
      (p) => `[${p.code}] ${p.message}${p.locations?.length ? ` (at ${p.locations.join(', ')})` : ''}`,
    );
    steps.push({ name: 'composition', ok: false, summary: `${problems.length} composition error(s)`, problems });
  }

  // 2. Changes against the last publication.
  const changes: CheckedChange[] = previous
    ? (await schemaChanges(previous.sdl, sdl, options.subgraph)).map((c) => ({ ...c, usedBy: [] }))
    : [];
  const count = (level: string) => changes.filter((c) => c.criticality === level).length;
  steps.push({
    name: 'changes',
    ok: true,
    summary: previous
      ? `${count('BREAKING')} breaking, ${count('DANGEROUS')} dangerous, ${count('SAFE')} safe against ` +
        `#${previous.seq} (${previous.version})`
      : 'first publication: nothing to compare with',
    problems: [],
  });

  // 3. Breaking changes against recorded traffic.
  const windowDays = options.windowDays ?? 7;
  const usage = await readUsage(platform.store, {
    since: new Date(Date.now() - windowDays * 86_400_000),
    excludeClients: options.excludeClients,
  });
  for (const c of changes.filter((x) => x.criticality === 'BREAKING')) c.usedBy = usersOf(usage, c.path);
  const used = changes.filter((c) => c.usedBy.length > 0);
  steps.push({
    name: 'operations',
    ok: used.length === 0,
    summary:
      `${usage.length} operation(s) x client seen in ${windowDays} day(s)` +
      (options.excludeClients?.length ? ` (excluding ${options.excludeClients.join(', ')})` : '') +
      `; ${used.length} breaking change(s) in use`,
    problems: used.map(
      (c) =>
        `${c.path}: ${c.message} — used by ${c.usedBy
          .map((u) => `${u.operation} (${u.client}, ${u.count}x, ` + `last ${u.lastSeen})`)
          .join('; ')}`,
    ),
  });

  // 4. The REST endpoints every domain publishes: breaking one fails the check whatever the traffic and the version.
  if (candidate) {
    const { endpoints, problems: unreadable } = loadEndpoints(listDomains(platform.config.domainsDir), {
      deprecationDays: loadPolicy().api.deprecationDays,
    });
    let before;
    try {
      before = composeSupergraph(published).apiSchema();
    } catch {
      before = undefined; // what is published does not compose (yet): only validity is checked
    }
    const breaks = restBreaks(endpoints, before, candidate.apiSchema());
    const undated = [
      ...new Set(
        endpoints
          .filter((e) => e.domain === options.subgraph && e.deprecation?.problem)
          .map((e) => e.deprecation!.problem!),
      ),
    ];
    for (const b of breaks)
      changes.push({
        criticality: 'BREAKING',
        path: `${b.endpoint.method} ${b.endpoint.path}`,
        message: `REST endpoint ${b.label}: ${b.problems.join('; ')}`,
        source: 'schema',
        type: 'REST_ENDPOINT_BROKEN',
        usedBy: [],
      });
    steps.push({
      name: 'rest',
      ok: breaks.length === 0 && undated.length === 0 && unreadable.length === 0,
      summary: `${endpoints.length} published REST endpoint(s); ${breaks.length} broken`,
      problems: [...breaks.map((b) => `${b.label}: ${b.problems.join('; ')}`), ...undated, ...unreadable],
    });
  }

  // 5. Versioning.
  const versioning: string[] = [];
  if (!semver.valid(version)) versioning.push(`version "${version}" is not semver`);
  else if (previous && !options.rollbackTo && !unchanged) {
    if (!semver.gt(version, previous.version))
      versioning.push(`version ${version} must be greater than the published ${previous.version}`);
    if (count('BREAKING') > 0 && semver.major(version) <= semver.major(previous.version))
      versioning.push(
        `breaking changes need a major version (${previous.version} → ${semver.inc(previous.version, 'major')})`,
      );
    if (
      count('BREAKING') > 0 &&
      !new RegExp(`^##\\s*\\[?v?${version.replace(/\./g, '\\.')}\\]?`, 'm').test(files.changelog)
    )
      versioning.push(`breaking changes need a CHANGELOG.md entry "## ${version}"`);
    const old = subgraphSchema(previous.sdl, options.subgraph);
    for (const c of changes.filter((x) => x.type === 'FIELD_REMOVED')) {
      const [type, field] = c.path.split('.');
      const t = old.getType(type!);
      const deprecated =
        t && (isObjectType(t) || isInterfaceType(t)) ? t.getFields()[field!]?.deprecationReason : undefined;
      if (!deprecated)
        versioning.push(`${c.path} is removed without a prior deprecation: publish it with @deprecated first`);
    }
  }
  steps.push({
    name: 'versioning',
    ok: versioning.length === 0,
    summary: options.rollbackTo
      ? `rollback to #${options.rollbackTo.seq} (${version})`
      : unchanged
        ? `unchanged since #${previous.seq} (${previous.version})`
        : previous
          ? `${previous.version} → ${version}`
          : `first version ${version}`,
    problems: versioning,
  });

  // 6. The data contract published with the schema.
  const contractProblems: string[] = [];
  if (previous?.contract && contract) {
    const cc = contractChanges(previous.contract, contract).map((c) => ({ ...c, usedBy: [] }));
    changes.push(...cc);
    const [before, after] = [contractVersion(previous.contract), contractVersion(contract)];
    if (
      cc.some((c) => c.criticality === 'BREAKING') &&
      !options.rollbackTo &&
      !(semver.valid(before) && semver.valid(after) && semver.major(after!) > semver.major(before!))
    ) {
      contractProblems.push(
        `breaking contract changes need a major contract version ` +
          `(${before} → ${semver.valid(before) ? semver.inc(before!, 'major') : 'a new major'})`,
      );
    }
  } else if (previous?.contract && !contract) contractProblems.push('the data contract was removed');
  if (contract) contractProblems.push(...scheduleProblems(parseYaml(contract) as DataContract));
  const contractCount = changes.filter((c) => c.source === 'contract');
  steps.push({
    name: 'contract',
    ok: contractProblems.length === 0,
    summary: contract
      ? `${contractCount.filter((c) => c.criticality === 'BREAKING').length} breaking, ` +
        `${contractCount.length} change(s) to contract ${contractVersion(contract)}`
      : 'no data contract',
    problems: contractProblems,
  });

  // 7. Event schemas, against every version the registry holds of their subjects (Confluent's compatibility modes).
  if (options.events?.length) {
    const events = new EventSchemaRegistry(platform);
    const problems: string[] = [];
    for (const e of options.events) {
      const subject = valueSubject(e.subject);
      const found = await events.check(subject, parseEventSchema(e.text, e.file), e.compatibility);
      problems.push(...found.map((p) => `${subject} (${e.compatibility}): ${p}`));
    }
    steps.push({
      name: 'events',
      ok: problems.length === 0,
      summary: `${options.events.length} event schema(s), ${problems.length} incompatible change(s)`,
      problems,
    });
  }

  const ok = steps.every((s) => s.ok);
  await registry.recordCheck({
    subgraph: options.subgraph,
    version,
    ok,
    checkedAt: new Date().toISOString(),
    steps,
    changes: changes.map((c) => ({ criticality: c.criticality, path: c.path, message: c.message, source: c.source })),
  });
  return {
    ok,
    subgraph: options.subgraph,
    version,
    unchanged,
    previous: previous && { seq: previous.seq, version: previous.version },
    steps,
    changes,
    supergraphSdl,
    basis,
  };
}

/** Operations that touch a path or anything below it (a removed type breaks every field of it). */
function usersOf(usage: OperationUsage[], changePath: string): CheckedChange['usedBy'] {
  return usage
    .filter((u) => u.coordinates.some((c) => c === changePath || c.startsWith(`${changePath}.`)))
    .map((u) => ({
      operation: u.name,
      signature: u.signature,
      client: u.client,
      count: u.count,
      lastSeen: u.lastSeen,
    }));
}

export function contractVersion(text: string): string | null {
  return (parseYaml(text) as { version?: string } | null)?.version ?? null;
}
