import type { MeshPlatform } from '../lineage/index.js';
import { listDomains, getJson } from '../platform/index.js';
import { PLATFORM_SEGMENT, runsPrefix, type RunRecord } from '../products/index.js';
import { loadRegistry, offlineManifest, type OnlineStore } from '../feature-subgraph/index.js';

export interface UnitPrices {
  /** Per GB-month of object storage. */
  storageGbMonth: number;
  /** Per hour of job compute. */
  computeHour: number;
  /** Per 1,000 gateway operations served. */
  operations1k: number;
  /** Per GB-month of online store memory. */
  onlineGbMonth: number;
}

export const DEFAULT_PRICES: UnitPrices = {
  storageGbMonth: 0.023,
  computeHour: 0.05,
  operations1k: 0.002,
  onlineGbMonth: 5,
};

export interface DomainCost {
  domain: string;
  storageBytes: Record<string, number>;
  computeSeconds: number;
  operations: number;
  onlineKeys: number;
  onlineBytes: number;
  cost: { storage: number; compute: number; queries: number; online: number; total: number };
}

const GB = 1024 ** 3;

/**
 * What each data product costs: object storage by layer (keys are `<domain>/<layer>/…`, the same split the cost tags
 * carry), compute seconds of its pipeline runs and feature computations since `since`, gateway operations that read its
 * data (lineage), and its feature views' keys and bytes in the online store. `_platform` objects are the platform's own
 * line.
 */
export async function costAllocation(
  platform: MeshPlatform,
  options: { since: Date; prices?: UnitPrices; online?: OnlineStore },
): Promise<DomainCost[]> {
  const prices = options.prices ?? DEFAULT_PRICES;
  const domains = listDomains(platform.config.domainsDir).map((d) => d.name);
  const rows = new Map<string, DomainCost>(
    [...domains, 'platform'].map((d) => [
      d,
      {
        domain: d,
        storageBytes: {},
        computeSeconds: 0,
        operations: 0,
        onlineKeys: 0,
        onlineBytes: 0,
        cost: { storage: 0, compute: 0, queries: 0, online: 0, total: 0 },
      },
    ]),
  );
  for (const o of await platform.store.list('')) {
    // Top-level files are not objects of the layout: on local disk, the data directory's own files (the embedded online
    // store, counted below; the lineage database; the supergraph).
    if (!o.key.includes('/')) continue;
    const [first, layer] = o.key.split('/');
    const row = rows.get(first === PLATFORM_SEGMENT ? 'platform' : first!) ?? rows.get('platform')!;
    const l = first === PLATFORM_SEGMENT ? (layer ?? 'platform') : (layer ?? 'other');
    row.storageBytes[l] = (row.storageBytes[l] ?? 0) + o.size;
  }
  for (const d of domains) {
    for (const o of await platform.store.list(runsPrefix(d))) {
      const run = await getJson<RunRecord>(platform.store, o.key);
      if (run && new Date(run.startedAt) >= options.since) rows.get(d)!.computeSeconds += run.durationMs / 1000;
    }
  }
  // Feature computations are the owning domain's jobs too; a view's manifest records its latest computation.
  const registry = await loadRegistry(platform.store);
  for (const versions of Object.values(registry.views)) {
    for (const v of versions) {
      const m = await offlineManifest(platform.store, v);
      if (m?.durationMs !== undefined && new Date(m.computedAt) >= options.since)
        (rows.get(v.domain) ?? rows.get('platform')!).computeSeconds += m.durationMs / 1000;
    }
  }
  // An operation counts once for every domain whose curated data it read.
  const seen = new Map<string, number>();
  for (const e of await platform.lineage.graph.edges()) {
    if (!e.job.startsWith('gateway.') || new Date(e.lastSeen) < options.since) continue;
    const domain = e.from.name.split('.')[0]!;
    if (!rows.has(domain)) continue;
    const key = `${domain}\u0000${e.job}\u0000${e.client}\u0000${e.role}`;
    seen.set(key, Math.max(seen.get(key) ?? 0, e.count));
  }
  for (const [key, count] of seen) rows.get(key.split('\u0000')[0]!)!.operations += count;
  if (options.online) {
    const owner = new Map(
      Object.values(registry.views).flatMap((versions) =>
        versions.map((v): [string, string] => [`${v.name}@v${v.version}`, v.domain]),
      ),
    );
    for (const s of await options.online.stats()) {
      const row = rows.get(owner.get(s.table) ?? 'platform') ?? rows.get('platform')!;
      row.onlineKeys += s.keys;
      row.onlineBytes += s.bytes;
    }
  }
  for (const r of rows.values()) {
    const bytes = Object.values(r.storageBytes).reduce((a, b) => a + b, 0);
    r.cost.storage = (bytes / GB) * prices.storageGbMonth;
    r.cost.compute = (r.computeSeconds / 3600) * prices.computeHour;
    r.cost.queries = (r.operations / 1000) * prices.operations1k;
    r.cost.online = (r.onlineBytes / GB) * prices.onlineGbMonth;
    r.cost.total = r.cost.storage + r.cost.compute + r.cost.queries + r.cost.online;
  }
  return [...rows.values()];
}

export interface CostReport {
  since: string;
  computedAt: string;
  prices: UnitPrices;
  domains: DomainCost[];
  /** Query load the reporting gateway routed since it started: calls and the DuckDB seconds they cost, per subgraph. */
  queryLoad?: { since: string; bySubgraph: Record<string, { fetches: number; duckdbSeconds: number }> };
}

/**
 * The allocation for a long-running process (gateway metrics and console): recomputed at most every `ttlMs`, since it
 * lists the whole object store; one computation at a time, and the last result stays readable meanwhile.
 */
export class CostCache {
  private latest?: CostReport;
  private pending?: Promise<CostReport>;
  private online?: OnlineStore;

  constructor(
    private readonly platform: MeshPlatform,
    private readonly openOnline: () => OnlineStore,
    private readonly options: {
      windowDays?: number;
      ttlMs?: number;
      prices?: UnitPrices;
      queryLoad?: () => Promise<Record<string, { fetches: number; duckdbSeconds: number }>>;
    } = {},
  ) {}

  private readonly startedAt = new Date().toISOString();

  async get(): Promise<CostReport> {
    if (this.latest && Date.now() - new Date(this.latest.computedAt).getTime() < (this.options.ttlMs ?? 300_000))
      return this.latest;
    this.pending ??= this.compute().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The last result without waiting (starts a refresh when it is stale): what a metrics scrape reads. */
  peek(): CostReport | undefined {
    void this.get().catch((err: unknown) =>
      this.platform.log.warn({ err: (err as Error).message }, 'cost allocation failed'),
    );
    return this.latest;
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => undefined);
    await this.online?.close();
  }

  private async compute(): Promise<CostReport> {
    const since = new Date(Date.now() - (this.options.windowDays ?? 30) * 86_400_000);
    this.online ??= this.openOnline();
    const prices = this.options.prices ?? DEFAULT_PRICES;
    const domains = await costAllocation(this.platform, { since, prices, online: this.online });
    const load = await this.options.queryLoad?.();
    this.latest = {
      since: since.toISOString(),
      computedAt: new Date().toISOString(),
      prices,
      domains,
      ...(load ? { queryLoad: { since: this.startedAt, bySubgraph: load } } : {}),
    };
    return this.latest;
  }
}
