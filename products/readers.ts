import { MeshError, ErrorCode, getJson, updateRecord, type Platform } from '../platform/index.js';
import { curatedManifestKey, runsPrefix } from './storeLayout.js';
import type { CuratedManifest, DatasetFile, DatasetOutput, RunRecord } from './types.js';

/** The current published version of a domain's curated data (undefined before its first publication). */
export async function currentManifest(
  platform: Pick<Platform, 'store'>,
  domain: string,
): Promise<CuratedManifest | undefined> {
  return getJson<CuratedManifest>(platform.store, curatedManifestKey(domain));
}

/** Which curated version of every data product: `domain:runId,…` in the order given. Equal strings, equal data. */
export function dataVersionOf(manifests: CuratedManifest[]): string {
  return manifests.map((m) => `${m.domain}:${m.runId}`).join(',');
}

/** The current data version of the mesh's data products, as subgraphs compute it for what they have loaded. */
export async function currentDataVersion(platform: Pick<Platform, 'store'>, domains: string[]): Promise<string> {
  const manifests = await Promise.all(domains.map((d) => currentManifest(platform, d)));
  return dataVersionOf(manifests.filter((m): m is CuratedManifest => m !== undefined));
}

/** The newest run records of a domain, newest first. */
export async function recentRuns(platform: Pick<Platform, 'store'>, domain: string, limit = 10): Promise<RunRecord[]> {
  const keys = (await platform.store.list(runsPrefix(domain)))
    .map((o) => o.key)
    .sort()
    .reverse()
    .slice(0, limit);
  const out: RunRecord[] = [];
  for (const k of keys) {
    const r = await getJson<RunRecord>(platform.store, k);
    if (r) out.push(r);
  }
  return out;
}

/** The files of a dataset's version, in partition order (manifests from before partitioning name one `key`). */
export function datasetFiles(ds: DatasetOutput, layer: 'curated' | 'restricted' = 'curated'): DatasetFile[] {
  const legacy = ds as unknown as {
    key?: string;
    rows: number;
    bytes: number;
    sha256: string;
    restricted?: { key?: string; rows: number; bytes: number; sha256: string };
  };
  if (layer === 'curated')
    return (
      ds.files ??
      (legacy.key ? [{ key: legacy.key, rows: legacy.rows, bytes: legacy.bytes, sha256: legacy.sha256 }] : [])
    );
  if (!ds.restricted) return [];
  const r = legacy.restricted!;
  return ds.restricted.files ?? (r.key ? [{ key: r.key, rows: r.rows, bytes: r.bytes, sha256: r.sha256 }] : []);
}

/**
 * Local paths to the current version of a curated dataset's files (fetched into the cache when the store is remote).
 */
export async function curatedDatasetPaths(
  platform: Pick<Platform, 'store'>,
  domain: string,
  dataset: string,
  layer: 'curated' | 'restricted' = 'curated',
): Promise<string[]> {
  const manifest = await currentManifest(platform, domain);
  const entry = manifest?.datasets[dataset];
  const files = entry ? datasetFiles(entry, layer) : [];
  if (!entry || (layer === 'restricted' && !entry.restricted))
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `${domain}: no published ${layer} dataset "${dataset}" (run: npx mesh run ${domain})`,
      { domain, dataset },
    );
  return Promise.all(files.map((f) => platform.store.localPath(f.key)));
}

/**
 * Hours since the extraction time of each domain's current curated version, on the data clock (null before its first
 * publication).
 */
export async function dataAgeHours(
  platform: Pick<Platform, 'store' | 'now'>,
  domains: string[],
  now = platform.now(),
): Promise<Map<string, number | null>> {
  const ages = await Promise.all(
    domains.map(async (d): Promise<[string, number | null]> => {
      const m = await currentManifest(platform, d);
      return [d, m ? (now - new Date(m.asOf).getTime()) / 3_600_000 : null];
    }),
  );
  return new Map(ages);
}

/** A landed stream batch's freshness: when it became queryable, its events, and their age then. */
export interface FreshnessSample {
  at: number;
  events: number;
  p50Seconds: number;
  p99Seconds: number;
}

/** A stream-fed domain's stream freshness over a window: what its freshness SLO is judged on. */
export interface StreamFreshness {
  /** The events-weighted median of the batches' medians. */
  p50Seconds: number;
  /** The highest batch p99: an upper bound of the window's p99 (every batch kept its 99 % within it). */
  p99Seconds: number;
  batches: number;
  events: number;
}

const freshnessRecord = (domain: string) => `stream/freshness/${domain}`;
const FRESHNESS_KEPT_MS = 24 * 3_600_000;

/** Adds a run's batches to the domain's freshness samples (a day of them is kept, in the control plane). */
export async function recordStreamFreshness(
  platform: Pick<Platform, 'control'>,
  domain: string,
  samples: FreshnessSample[],
): Promise<void> {
  if (samples.length === 0) return;
  const since = Math.max(...samples.map((s) => s.at)) - FRESHNESS_KEPT_MS;
  await updateRecord<FreshnessSample[]>(platform.control, freshnessRecord(domain), (kept) =>
    [...(kept ?? []), ...samples].filter((s) => s.at >= since),
  );
}

/** Each domain's stream freshness over the last `windowMs` (null: no stream batch in it). */
export async function streamFreshness(
  platform: Pick<Platform, 'control'>,
  domains: string[],
  windowMs = 3_600_000,
  now = Date.now(),
): Promise<Map<string, StreamFreshness | null>> {
  const entries = await Promise.all(
    domains.map(async (d): Promise<[string, StreamFreshness | null]> => {
      const samples = ((await platform.control.read<FreshnessSample[]>(freshnessRecord(d)))?.value ?? []).filter(
        (s) => s.at >= now - windowMs,
      );
      const events = samples.reduce((n, s) => n + s.events, 0);
      if (samples.length === 0 || events === 0) return [d, null];
      let seen = 0;
      const median = [...samples]
        .sort((a, b) => a.p50Seconds - b.p50Seconds)
        .find((s) => (seen += s.events) >= events / 2)!.p50Seconds;
      return [
        d,
        {
          p50Seconds: median,
          p99Seconds: Math.max(...samples.map((s) => s.p99Seconds)),
          batches: samples.length,
          events,
        },
      ];
    }),
  );
  return new Map(entries);
}
