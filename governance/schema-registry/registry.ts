import { getJson, putJson, MeshError, ErrorCode, type ObjectStore } from '../../platform/index.js';
import { schemaChecksPrefix, schemaIndexKey, schemaVersionKey } from '../../products/index.js';

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
}

export type SchemaVersionSummary = Omit<SchemaVersion, 'sdl' | 'contract'>;

interface SchemaIndex {
  subgraph: string;
  current: number;
  versions: SchemaVersionSummary[];
}

/** A schema check as the registry keeps it. */
export interface RecordedCheck {
  subgraph: string;
  version: string;
  ok: boolean;
  checkedAt: string;
  steps: { name: string; ok: boolean; summary: string; problems: string[] }[];
  changes: { criticality: string; path: string; message: string; source?: string }[];
}

/** The schema registry in the object store: one object per version, and an index written last as the commit point. */
export class SchemaRegistry {
  constructor(private readonly store: ObjectStore) {}

  async log(subgraph: string): Promise<SchemaVersionSummary[]> {
    return (await this.index(subgraph))?.versions ?? [];
  }

  async current(subgraph: string): Promise<SchemaVersion | undefined> {
    const index = await this.index(subgraph);
    return index ? this.get(subgraph, index.current) : undefined;
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
    const v = await getJson<SchemaVersion>(this.store, schemaVersionKey(subgraph, summary.seq));
    if (!v)
      throw new MeshError(
        ErrorCode.STORE_ERROR,
        `${subgraph}: schema version ${summary.seq} is in the index but its object is missing`,
      );
    return v;
  }

  async publish(entry: Omit<SchemaVersion, 'seq'>): Promise<SchemaVersion> {
    const index = (await this.index(entry.subgraph)) ?? { subgraph: entry.subgraph, current: 0, versions: [] };
    const version: SchemaVersion = { ...entry, seq: (index.versions.at(-1)?.seq ?? 0) + 1 };
    const tags = { layer: 'platform', 'data-product': `schema:${entry.subgraph}` };
    await putJson(this.store, schemaVersionKey(entry.subgraph, version.seq), version, tags);
    const { sdl: _sdl, contract: _contract, ...summary } = version;
    await putJson(
      this.store,
      schemaIndexKey(entry.subgraph),
      { ...index, current: version.seq, versions: [...index.versions, summary] },
      tags,
    );
    return version;
  }

  /** Keeps a check's outcome (without the composed supergraph) so the console can show recent checks. */
  async recordCheck(report: RecordedCheck): Promise<void> {
    const at = report.checkedAt.replace(/[:.]/g, '-');
    await putJson(
      this.store,
      `${schemaChecksPrefix(report.subgraph)}${at}-${Math.random().toString(36).slice(2, 8)}.json`,
      report,
      { layer: 'platform', 'data-product': `schema:${report.subgraph}` },
    );
  }

  /** The latest checks of a subgraph, newest first. */
  async recentChecks(subgraph: string, limit = 10): Promise<RecordedCheck[]> {
    const keys = (await this.store.list(schemaChecksPrefix(subgraph)))
      .map((o) => o.key)
      .sort()
      .reverse()
      .slice(0, limit);
    return (await Promise.all(keys.map((k) => getJson<RecordedCheck>(this.store, k)))).filter(
      (c): c is RecordedCheck => c !== undefined,
    );
  }

  private index(subgraph: string): Promise<SchemaIndex | undefined> {
    return getJson<SchemaIndex>(this.store, schemaIndexKey(subgraph));
  }
}
