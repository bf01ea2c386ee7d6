import { MeshError, ErrorCode, isMeshError, writeAtomic, type Platform } from '../../platform/index.js';
import { checkSchema, contractVersion, subgraphFiles, type CheckOptions, type CheckReport } from './check.js';
import { loadSupergraphConfig } from '../composition.js';
import { SchemaRegistry, SUPERGRAPH_CHANNEL, type SchemaVersion, type SupergraphHead } from './registry.js';
import { PUBLISHED_SUPERGRAPH_KEY } from '../../products/index.js';
import { EventSchemaRegistry, parseEventSchema, valueSubject } from './events.js';

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

/** Publications of other subgraphs that land between a check and its commit: each one means checking again. */
const RECHECKS = 5;

/**
 * Checks, then records the schema (with its contract, git commit, author, time) and the supergraph it composes into,
 * by compare-and-swap against the head the check composed with. When another subgraph published meanwhile, it checks
 * again against the new head; when the same subgraph did, it fails with `CONFLICT` naming the version it lost to.
 * Then it tells the gateways: NOTIFY on the control plane, the store's copy (for gateways that follow the store) and
 * MESH_SUPERGRAPH_FILE.
 */
export async function publishSchema(
  platform: Platform,
  options: CheckOptions & { publisher: Publisher },
): Promise<PublishResult> {
  const registry = new SchemaRegistry(platform);
  for (let attempt = 1; ; attempt++) {
    const report = await checkSchema(platform, options);
    if (!report.ok || !report.supergraphSdl) {
      const failed = report.steps.filter((s) => !s.ok);
      throw new MeshError(
        ErrorCode.SCHEMA_CHECK_FAILED,
        `${options.subgraph}: not published, ${failed.map((s) => `${s.name}: ${s.problems.join('; ')}`).join(' | ')}`,
        { report },
      );
    }
    // The streams' event schemas passed their compatibility check: registered (a version already held is kept).
    const events = new EventSchemaRegistry(platform);
    for (const e of options.events ?? [])
      await events.register(valueSubject(e.subject), parseEventSchema(e.text, e.file), e.compatibility);
    if (report.unchanged && report.previous && !options.rollbackTo)
      return {
        report,
        published: await registry.get(options.subgraph, report.previous.seq),
        supergraphFile: platform.config.gateway.supergraphFile,
      };
    const files = subgraphFiles(platform, options.subgraph);
    const sdl = options.rollbackTo?.sdl ?? options.sdl ?? files.source.sdl;
    const contract = options.rollbackTo ? options.rollbackTo.contract : files.contract;
    try {
      const { version, head } = await registry.publish(
        {
          subgraph: options.subgraph,
          version: report.version,
          sdl,
          contract,
          contractVersion: contract ? contractVersion(contract) : null,
          gitCommit: options.publisher.commit,
          author: options.publisher.author,
          publishedAt: new Date().toISOString(),
          ...(options.rollbackTo ? { rollbackOf: options.rollbackTo.seq } : {}),
        },
        report.basis,
        report.supergraphSdl,
      );
      platform.log.info(
        { subgraph: options.subgraph, seq: version.seq, version: version.version, supergraph: head.version },
        'schema published',
      );
      await announce(platform, registry, head, report.supergraphSdl);
      return { report, published: version, supergraphFile: platform.config.gateway.supergraphFile };
    } catch (err) {
      if (!isMeshError(err, ErrorCode.CONFLICT)) throw err;
      const { head } = await registry.head();
      const winner = head?.subgraphs[options.subgraph];
      if (winner !== report.basis.subgraphs[options.subgraph] || attempt >= RECHECKS)
        throw await lostTo(registry, options.subgraph, winner);
      platform.log.info(
        { subgraph: options.subgraph, publishedMeanwhile: head?.publishedBy },
        'another subgraph published meanwhile; checking again against the new head',
      );
    }
  }
}

async function lostTo(registry: SchemaRegistry, subgraph: string, seq: number | undefined): Promise<MeshError> {
  const winner = seq === undefined ? undefined : await registry.get(subgraph, seq);
  return new MeshError(
    ErrorCode.CONFLICT,
    winner
      ? `${subgraph}: not published, another publication won the race: ${subgraph} ${winner.seq} (${winner.version}) ` +
          `by ${winner.author} at ${winner.publishedAt}. Run the check again: it compares with that version now.`
      : `${subgraph}: not published, the registry moved while publishing. Run the check again.`,
    { subgraph, lostTo: winner ? { seq: winner.seq, version: winner.version } : null },
  );
}

/**
 * Every gateway learns of the new head: NOTIFY reaches those listening to the control plane at once; the store's copy
 * is for gateways that follow the store. Publications racing each other may write the copy out of order, so it is
 * rewritten until it is the head's.
 */
async function announce(platform: Platform, registry: SchemaRegistry, head: SupergraphHead, sdl: string) {
  await platform.control
    .notify(SUPERGRAPH_CHANNEL, head.version)
    .catch((err: unknown) =>
      platform.log.warn(
        { err: (err as Error).message },
        'gateways not notified; they find the head at their next poll',
      ),
    );
  let current = { head, sdl };
  for (let i = 0; i < 5; i++) {
    await platform.store.put(PUBLISHED_SUPERGRAPH_KEY, current.sdl, {
      tags: { layer: 'platform', 'data-product': 'supergraph' },
      contentType: 'application/graphql',
    });
    writeAtomic(platform.config.gateway.supergraphFile, current.sdl);
    const now = (await registry.head()).head;
    if (!now || now.version === current.head.version) return;
    current = { head: now, sdl: await registry.supergraph(now) };
  }
}

/**
 * First publication of every subgraph the registry has not seen yet, so later checks have a baseline to compare with.
 */
export async function publishBaselines(platform: Platform, publisher: Publisher): Promise<SchemaVersion[]> {
  const registry = new SchemaRegistry(platform);
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
  const target = await new SchemaRegistry(platform).get(subgraph, ref);
  return publishSchema(platform, { ...options, subgraph, rollbackTo: target });
}
