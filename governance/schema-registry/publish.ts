import { MeshError, ErrorCode, writeAtomic, type Platform } from '../../platform/index.js';
import { checkSchema, contractVersion, subgraphFiles, type CheckOptions, type CheckReport } from './check.js';
import { loadSupergraphConfig } from '../composition.js';
import { SchemaRegistry, type SchemaVersion } from './registry.js';
import { PUBLISHED_SUPERGRAPH_KEY } from '../../products/index.js';

/** Who publishes and from which commit, as the caller knows them (the CLI reads them from git). */
export interface Publisher {
  commit: string | null;
  author: string;
}

export interface PublishResult {
  report: CheckReport;
  published: SchemaVersion;
  supergraphFile: string;
}

/**
 * Checks, then records the schema (with its contract, git commit, author, time) and writes the recomposed supergraph to
 * the object store and to MESH_SUPERGRAPH_FILE, which running gateways watch and swap in between requests.
 */
export async function publishSchema(
  platform: Platform,
  options: CheckOptions & { publisher: Publisher },
): Promise<PublishResult> {
  const report = await checkSchema(platform, options);
  if (!report.ok || !report.supergraphSdl) {
    const failed = report.steps.filter((s) => !s.ok);
    throw new MeshError(
      ErrorCode.SCHEMA_CHECK_FAILED,
      `${options.subgraph}: not published, ${failed.map((s) => `${s.name}: ${s.problems.join('; ')}`).join(' | ')}`,
      { report },
    );
  }
  const registry = new SchemaRegistry(platform.store);
  const current = await registry.current(options.subgraph);
  if (report.unchanged && current && !options.rollbackTo)
    return { report, published: current, supergraphFile: platform.config.gateway.supergraphFile };
  const files = subgraphFiles(platform, options.subgraph);
  const sdl = options.rollbackTo?.sdl ?? options.sdl ?? files.source.sdl;
  const contract = options.rollbackTo ? options.rollbackTo.contract : files.contract;
  const published = await registry.publish({
    subgraph: options.subgraph,
    version: report.version,
    sdl,
    contract,
    contractVersion: contract ? contractVersion(contract) : null,
    gitCommit: options.publisher.commit,
    author: options.publisher.author,
    publishedAt: new Date().toISOString(),
    ...(options.rollbackTo ? { rollbackOf: options.rollbackTo.seq } : {}),
  });
  await platform.store.put(PUBLISHED_SUPERGRAPH_KEY, report.supergraphSdl, {
    tags: { layer: 'platform', 'data-product': 'supergraph' },
    contentType: 'application/graphql',
  });
  writeAtomic(platform.config.gateway.supergraphFile, report.supergraphSdl);
  platform.log.info({ subgraph: options.subgraph, seq: published.seq, version: published.version }, 'schema published');
  return { report, published, supergraphFile: platform.config.gateway.supergraphFile };
}

/**
 * First publication of every subgraph the registry has not seen yet, so later checks have a baseline to compare with.
 */
export async function publishBaselines(platform: Platform, publisher: Publisher): Promise<SchemaVersion[]> {
  const registry = new SchemaRegistry(platform.store);
  const out: SchemaVersion[] = [];
  for (const s of loadSupergraphConfig(platform.config.gateway.config)) {
    if (await registry.current(s.name)) continue;
    try {
      out.push((await publishSchema(platform, { subgraph: s.name, publisher })).published);
    } catch (err) {
      platform.log.warn({ subgraph: s.name, err: (err as Error).message }, 'no baseline schema published');
    }
  }
  return out;
}

/** Republishes an earlier version through the same checks (its semver need not grow). */
export async function rollbackSchema(
  platform: Platform,
  subgraph: string,
  ref: string,
  options: Omit<CheckOptions, 'subgraph'> & { publisher: Publisher },
): Promise<PublishResult> {
  const target = await new SchemaRegistry(platform.store).get(subgraph, ref);
  return publishSchema(platform, { ...options, subgraph, rollbackTo: target });
}
