import { createHash } from 'node:crypto';
import { claimStore, getJson, putJson, MeshError, ErrorCode, type Platform } from '../../platform/index.js';
import {
  schemaChecksPrefix,
  schemaIndexKey,
  schemaObjectKey,
  schemaVersionKey,
  supergraphObjectKey,
} from '../../products/index.js';

/** One published schema of a subgraph, with what it was published against. */
export interface SchemaVersion {
  /** Registry sequence number: 1, 2, … (a rollback is a new number). */
  seq: number;
  subgraph: string;
  /** The subgraph's own semver at publication. */
  version: string;
  sdl: string;
  /** The domain's ODCS contract text, when the subgraph has one. */
  contract: string | null;
  contractVersion: string | null;
  gitCommit: string | null;
  author: string;
  publishedAt: string;
  rollbackOf?: number;
  /** The store object holding its SDL and contract (content-addressed). */
  object?: string;
}

export type SchemaVersionSummary = Omit<SchemaVersion, 'sdl' | 'contract'>;

interface SchemaIndex {
  subgraph: string;
  current: number;
  versions: SchemaVersionSummary[];
}

/** The registry's head: the supergraph gateways serve, and exactly the subgraph versions it was composed from. */
export interface SupergraphHead {
  /** The first 12 hex digits of the SDL's SHA-256. */
  version: string;
  /** Its content-addressed object in the store. */
  key: string;
  subgraphs: Record<string, number>;
  publishedAt: string;
  publishedBy: { subgraph: string; seq: number };
}

/** What a check composed against: the head's revision, which a publication must still find to take its place. */
export interface RegistryBasis {
  revision: number;
  subgraphs: Record<string, number>;
}

/** A check as the registry keeps it. */
export interface RecordedCheck {
  subgraph: string;
  version: string;
  ok: boolean;
  checkedAt: string;
  steps: { name: string; ok: boolean; summary: string; problems: string[] }[];
  changes: { criticality: string; path: string; message: string; source?: string }[];
}

/** Gateways listen here for a new head; the payload is its version. */
export const SUPERGRAPH_CHANNEL = 'mesh_supergraph';
const SUPERGRAPH_RECORD = 'schema/supergraph';
const subgraphRecord = (subgraph: string) => `schema/subgraphs/${subgraph}`;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The schema registry: heads and version logs are records of the control plane, moved together by one
 * compare-and-swap per publication; SDLs and supergraphs are content-addressed objects in the store, written before
 * the records that point at them.
 */
export class SchemaRegistry {
  constructor(private readonly platform: Pick<Platform, 'store' | 'control'>) {}

  async log(subgraph: string): Promise<SchemaVersionSummary[]> {
    return (await this.index(subgraph)).index?.versions ?? [];
  }

  async current(subgraph: string): Promise<SchemaVersion | undefined> {
    const { index } = await this.index(subgraph);
    return index ? this.get(subgraph, index.current) : undefined;
  }

  /** The head with its revision (0 before the first publication). */
  async head(): Promise<{ head: SupergraphHead | undefined; revision: number }> {
    const record = await this.platform.control.read<SupergraphHead>(SUPERGRAPH_RECORD);
    return { head: record?.value, revision: record?.revision ?? 0 };
  }

  /** The head's supergraph SDL, as gateways fetch it. */
  async supergraph(head: SupergraphHead): Promise<string> {
    return (await this.platform.store.get(head.key)).toString('utf8');
  }

  /** A version by registry number (`3`) or by semver (`1.2.0`, the latest publication of it). */
  async get(subgraph: string, ref: number | string): Promise<SchemaVersion> {
    const versions = await this.log(subgraph);
    const summary =
      typeof ref === 'number' || /^\d+$/.test(ref)
        ? versions.find((v) => v.seq === Number(ref))
        : versions.filter((v) => v.version === ref).at(-1);
    if (!summary) {
      throw new MeshError(
        ErrorCode.NOT_FOUND,
        `${subgraph} has no published schema ${ref} ` +
          `(published: ${versions.map((v) => `${v.seq} (${v.version})`).join(', ') || 'none'})`,
      );
    }
    const body = await getJson<Pick<SchemaVersion, 'sdl' | 'contract'>>(
      this.platform.store,
      summary.object ?? schemaVersionKey(subgraph, summary.seq),
    );
    if (!body)
      throw new MeshError(
        ErrorCode.STORE_ERROR,
        `${subgraph}: schema version ${summary.seq} is in the registry but its object is missing`,
      );
    return { ...summary, sdl: body.sdl, contract: body.contract };
  }

  /**
   * Records a version and the supergraph composed with it, if the head is still the one the check composed against
   * (`basis`); else a `CONFLICT`, and nothing moved. Artifacts go first, content-addressed, so a record never points
   * at a missing object and a losing writer overwrites nothing.
   */
  async publish(
    entry: Omit<SchemaVersion, 'seq' | 'object'>,
    basis: RegistryBasis,
    supergraphSdl: string,
  ): Promise<{ version: SchemaVersion; head: SupergraphHead }> {
    await claimStore(this.platform.store, this.platform.control);
    const tags = { layer: 'platform', 'data-product': `schema:${entry.subgraph}` };
    const body = { sdl: entry.sdl, contract: entry.contract };
    const object = schemaObjectKey(entry.subgraph, sha256(JSON.stringify(body)));
    const supergraphSha = sha256(supergraphSdl);
    const key = supergraphObjectKey(supergraphSha);
    await putJson(this.platform.store, object, body, tags);
    await this.platform.store.put(key, supergraphSdl, {
      tags: { layer: 'platform', 'data-product': 'supergraph' },
      contentType: 'application/graphql',
    });
    const { index, revision } = await this.index(entry.subgraph);
    const seq = (index?.versions.at(-1)?.seq ?? 0) + 1;
    const version: SchemaVersion = { ...entry, seq, object };
    const { sdl: _sdl, contract: _contract, ...summary } = version;
    const head: SupergraphHead = {
      version: supergraphSha.slice(0, 12),
      key,
      subgraphs: { ...basis.subgraphs, [entry.subgraph]: seq },
      publishedAt: entry.publishedAt,
      publishedBy: { subgraph: entry.subgraph, seq },
    };
    await this.platform.control.commit([
      {
        key: subgraphRecord(entry.subgraph),
        value: { subgraph: entry.subgraph, current: seq, versions: [...(index?.versions ?? []), summary] },
        expected: revision,
      },
      { key: SUPERGRAPH_RECORD, value: head, expected: basis.revision },
    ]);
    return { version, head };
  }

  /** Keeps a check's outcome (without the composed supergraph) so the console can show recent checks. */
  async recordCheck(report: RecordedCheck): Promise<void> {
    const at = report.checkedAt.replace(/[:.]/g, '-');
    await putJson(
      this.platform.store,
      `${schemaChecksPrefix(report.subgraph)}${at}-${Math.random().toString(36).slice(2, 8)}.json`,
      report,
      { layer: 'platform', 'data-product': `schema:${report.subgraph}` },
    );
  }

  /** The latest checks of a subgraph, newest first. */
  async recentChecks(subgraph: string, limit = 10): Promise<RecordedCheck[]> {
    const keys = (await this.platform.store.list(schemaChecksPrefix(subgraph)))
      .map((o) => o.key)
      .sort()
      .reverse()
      .slice(0, limit);
    return (await Promise.all(keys.map((k) => getJson<RecordedCheck>(this.platform.store, k)))).filter(
      (c): c is RecordedCheck => c !== undefined,
    );
  }

  /** A subgraph's log and head; a registry kept in the store before the control plane is read as revision 0. */
  private async index(subgraph: string): Promise<{ index: SchemaIndex | undefined; revision: number }> {
    const record = await this.platform.control.read<SchemaIndex>(subgraphRecord(subgraph));
    if (record) return { index: record.value, revision: record.revision };
    return { index: await getJson<SchemaIndex>(this.platform.store, schemaIndexKey(subgraph)), revision: 0 };
  }
}
