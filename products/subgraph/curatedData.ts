import path from 'node:path';
import { Duck, readParquet, sqlIdent as id, listDomains, type Platform } from '../../platform/index.js';
import type { CuratedManifest } from '../types.js';
import { currentManifest, dataVersionOf, datasetFiles } from '../readers.js';
import { ServingCopy, type DataFile, type LookupSpec } from './servingCopy.js';

/**
 * A subgraph's copy of the mesh's published data: `<domain>.<dataset>` for every domain's current curated version
 * (domains consume each other's data products), `restricted.<dataset>` for its own domain only.
 * All are views over the version's local Parquet files, so memory does not grow with the data: the domain's key
 * lookups, its hot path, are answered by the serving copy. Views follow the manifests: `refresh()` repoints them when
 * a new version is published, then rebuilds the serving copy for it.
 */
export class CuratedData {
  private versions = '';
  /** Extraction time of this domain's current curated version. */
  asOf?: Date;
  private readonly restrictedKeys = new Map<string, string>();
  /** Key lookups of the domain's own data, memory-mapped, one copy per version. */
  readonly serving: ServingCopy;

  private constructor(
    readonly duck: Duck,
    private readonly platform: Platform,
    private readonly domain: string,
  ) {
    const dir = platform.config.servingCopyDir;
    this.serving = new ServingCopy(duck, dir && path.join(dir, domain), platform.log, domain);
  }

  static async open(platform: Platform, domain: string): Promise<CuratedData> {
    // Serving runs many tiny queries: one thread per connection has lower latency than parallel plans.
    const duck = await Duck.open({ memoryLimit: platform.config.duckdb.memoryLimit, threads: 1, connections: 4 });
    await duck.run(`SET TimeZone = 'UTC'`);
    // Building a serving copy sorts a whole dataset: its memory goes back to the system once built, not kept.
    await duck.run(`SET allocator_flush_threshold = '8MB'`);
    await duck.run(`SET allocator_background_threads = true`);
    const data = new CuratedData(duck, platform, domain);
    await data.refresh();
    return data;
  }

  /**
   * Counts swaps: odd while one is under way (tables and serving copy of two versions), even when settled. A request
   * that sees the same even generation at its start and end was answered from one version, `version`.
   */
  generation = 0;

  /** The loaded versions of every domain's data product (`domain:runId,…`). */
  get version(): string {
    return this.versions;
  }

  private refreshing?: Promise<boolean>;
  private queued?: Promise<boolean>;

  /**
   * Repoints views at the current versions, then rebuilds the serving copy; returns whether anything changed. One at a
   * time: called during one (a poll while a slow rebuild goes on), it runs once more after it, so a version published
   * meanwhile is loaded without two swaps interleaving.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.load().finally(() => {
        this.refreshing = undefined;
      });
      return this.refreshing;
    }
    this.queued ??= this.refreshing
      .catch(() => false)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  private async load(): Promise<boolean> {
    const all = await Promise.all(
      listDomains(this.platform.config.domainsDir).map((d) => currentManifest(this.platform, d.name)),
    );
    const manifests = all.filter((m): m is CuratedManifest => m !== undefined);
    const versions = dataVersionOf(manifests);
    const own = manifests.find((m) => m.domain === this.domain);
    if (own) this.asOf = new Date(own.asOf);
    if (versions === this.versions) return false;
    this.generation++;
    // Each relation's files, so the serving copy can tell what changed from one version to the next.
    const relations = new Map<string, DataFile[]>();
    for (const m of manifests) {
      await this.duck.run(`CREATE SCHEMA IF NOT EXISTS ${id(m.domain)}`);
      for (const ds of Object.values(m.datasets)) {
        const files = datasetFiles(ds);
        const local = await Promise.all(files.map((f) => this.platform.store.localPath(f.key)));
        relations.set(
          `${m.domain}.${ds.name}`,
          files.map((f, i) => ({ path: local[i]!, rows: f.rows })),
        );
        await this.duck.run(
          `CREATE OR REPLACE VIEW ${id(m.domain)}.${id(ds.name)} AS SELECT * FROM ${readParquet(local)}`,
        );
        if (m.domain === this.domain && ds.restricted) {
          await this.duck.run(`CREATE SCHEMA IF NOT EXISTS restricted`);
          const rf = datasetFiles(ds, 'restricted');
          const r = await Promise.all(rf.map((f) => this.platform.store.localPath(f.key)));
          relations.set(
            `restricted.${ds.name}`,
            rf.map((f, i) => ({ path: r[i]!, rows: f.rows })),
          );
          this.restrictedKeys.set(ds.name, ds.restricted.columns[0]!);
          await this.duck.run(`CREATE OR REPLACE VIEW restricted.${id(ds.name)} AS SELECT * FROM ${readParquet(r)}`);
        }
      }
    }
    // A lookup's copy is named by the version of the domain it reads (restricted: this one's), not the whole mesh's.
    const runs = new Map(manifests.map((m) => [m.domain, m.runId]));
    const versionOf = (spec: LookupSpec) => {
      const schema = spec.from.split('.')[0]!.replaceAll('"', '');
      return `${schema}:${runs.get(schema === 'restricted' ? this.domain : schema) ?? versions}`;
    };
    try {
      await this.serving.rebuild(versionOf, (spec) => relations.get(spec.from.replaceAll('"', '')));
    } finally {
      this.versions = versions;
      this.generation++;
    }
    return true;
  }

  /** The domain's datasets that have a restricted layer. */
  restrictedDatasets(): string[] {
    return [...this.restrictedKeys.keys()];
  }

  /** The primary key column of a restricted dataset (the first column of the restricted copy). */
  restrictedKey(dataset: string): string {
    const key = this.restrictedKeys.get(dataset);
    if (!key) throw new Error(`${this.domain}: dataset "${dataset}" has no restricted layer`);
    return key;
  }

  close(): void {
    this.serving.close();
    this.duck.close();
  }
}
