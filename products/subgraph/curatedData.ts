import { Duck, readParquet, sqlIdent as id, listDomains, type Platform } from '../../platform/index.js';
import type { CuratedManifest } from '../types.js';
import { currentManifest, dataVersionOf, datasetFiles } from '../readers.js';
import { ServingCopy } from './servingCopy.js';

/**
 * A subgraph's copy of the mesh's published data: `<domain>.<dataset>` for every domain's current curated version
 * (domains consume each other's data products), `restricted.<dataset>` for its own domain only.
 * The domain's own datasets are loaded into memory (its entity lookups are the hot path, and cost ~2 ms less than
 * re-reading Parquet); other domains' products, read only by analytical fields, stay Parquet views. Both follow the
 * manifests: `refresh()` swaps them, in one transaction each, when a new version is published.
 */
export class CuratedData {
  private versions = '';
  /** Extraction time of this domain's current curated version. */
  asOf?: Date;
  private readonly restrictedKeys = new Map<string, string>();
  /** Key lookups of the domain's own data, in memory, rebuilt with each version. */
  readonly serving: ServingCopy;

  private constructor(
    readonly duck: Duck,
    private readonly platform: Platform,
    private readonly domain: string,
  ) {
    this.serving = new ServingCopy(duck, platform.config.servingMemoryBytes, platform.log, domain);
  }

  static async open(platform: Platform, domain: string): Promise<CuratedData> {
    // Serving runs many tiny queries: one thread per connection has lower latency than parallel plans.
    const duck = await Duck.open({ memoryLimit: platform.config.duckdb.memoryLimit, threads: 1, connections: 4 });
    await duck.run(`SET TimeZone = 'UTC'`);
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

  /** Repoints views at the current versions, then rebuilds the serving copy; returns whether anything changed. */
  async refresh(): Promise<boolean> {
    const all = await Promise.all(
      listDomains(this.platform.config.domainsDir).map((d) => currentManifest(this.platform, d.name)),
    );
    const manifests = all.filter((m): m is CuratedManifest => m !== undefined);
    const versions = dataVersionOf(manifests);
    const own = manifests.find((m) => m.domain === this.domain);
    if (own) this.asOf = new Date(own.asOf);
    if (versions === this.versions) return false;
    this.generation++;
    for (const m of manifests) {
      await this.duck.run(`CREATE SCHEMA IF NOT EXISTS ${id(m.domain)}`);
      for (const ds of Object.values(m.datasets)) {
        const local = await Promise.all(datasetFiles(ds).map((f) => this.platform.store.localPath(f.key)));
        const kind = m.domain === this.domain ? 'TABLE' : 'VIEW';
        await this.duck.run(
          `CREATE OR REPLACE ${kind} ${id(m.domain)}.${id(ds.name)} AS SELECT * FROM ${readParquet(local)}`,
        );
        if (m.domain === this.domain && ds.restricted) {
          await this.duck.run(`CREATE SCHEMA IF NOT EXISTS restricted`);
          const r = await Promise.all(datasetFiles(ds, 'restricted').map((f) => this.platform.store.localPath(f.key)));
          this.restrictedKeys.set(ds.name, ds.restricted.columns[0]!);
          await this.duck.run(`CREATE OR REPLACE TABLE restricted.${id(ds.name)} AS SELECT * FROM ${readParquet(r)}`);
        }
      }
    }
    try {
      await this.serving.rebuild();
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
    this.duck.close();
  }
}
