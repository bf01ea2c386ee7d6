import { listDomains, MeshError, ErrorCode, type Platform } from '../platform/index.js';
import { loadDefinitions } from './definitions.js';
import {
  currentViews,
  findView,
  loadRegistry,
  plan,
  updateRegistry,
  tableId,
  type PlannedChange,
  type Registry,
  type ViewVersion,
} from './registry.js';
import { computeFeatureViews } from './offline/compute.js';
import { offlineManifest, type OfflineManifest } from './offline/table.js';
import { onlineStoreUrl } from './online/types.js';

/** What `mesh features plan` shows: the registry changes the definitions in the domain folders would make. */
export async function planFeatures(platform: Platform): Promise<{ changes: PlannedChange[]; next: Registry }> {
  const defs = await loadDefinitions(listDomains(platform.config.domainsDir));
  return plan(await loadRegistry(platform.store), defs);
}

/**
 * Plans against the registry's head and records the result by compare-and-swap: of two applies at once, one wins and
 * the other fails with `CONFLICT` (a materialization meanwhile is merged).
 */
export async function applyFeatures(platform: Platform): Promise<PlannedChange[]> {
  const defs = await loadDefinitions(listDomains(platform.config.domainsDir));
  let changes: PlannedChange[] = [];
  await updateRegistry(
    platform,
    (registry) => {
      const planned = plan(registry, defs);
      changes = planned.changes;
      return changes.some((c) => c.action !== 'unchanged') ? planned.next : undefined;
    },
    { definitions: true },
  );
  return changes;
}

/**
 * Offline tables of the named views (`view` or `view@vN`), of the named domains' current views, or of all current
 * views.
 */
export async function computeFeatures(
  platform: Platform,
  select: { views?: string[]; domains?: string[] } = {},
  onView?: (m: OfflineManifest) => void,
): Promise<OfflineManifest[]> {
  const registry = await loadRegistry(platform.store);
  let views: ViewVersion[];
  if (select.views?.length) {
    views = select.views.map((v) => {
      const [name, version] = v.split('@v');
      return findView(registry, name!, version ? Number(version) : undefined);
    });
  } else {
    views = currentViews(registry).filter((v) => !select.domains?.length || select.domains.includes(v.domain));
  }
  if (views.length === 0 && Object.keys(registry.views).length === 0)
    throw new MeshError(ErrorCode.NOT_FOUND, 'no feature views registered: run npx mesh features apply');
  return computeFeatureViews(platform, views, onView);
}

export interface ViewListing {
  name: string;
  version: number;
  versions: number[];
  domain: string;
  owner: string;
  description: string;
  entities: string[];
  joinKeys: string[];
  ttlSeconds: number;
  features: { name: string; dtype: string; description?: string }[];
  tags: Record<string, string>;
  offline: { rows: number; maxEventTimestamp: string | null; computedAt: string } | null;
  /** Online watermark in the configured online store. */
  materializedUntil: string | null;
}

/** Every current view with its versions, owner, keys, features and freshness (offline table and online watermark). */
export async function listFeatureViews(platform: Platform): Promise<ViewListing[]> {
  const registry = await loadRegistry(platform.store);
  const online = registry.materialization[onlineStoreUrl(platform.config.online)] ?? {};
  return Promise.all(
    currentViews(registry).map(async (v) => {
      const m = await offlineManifest(platform.store, v);
      return {
        name: v.name,
        version: v.version,
        versions: registry.views[v.name]!.map((x) => x.version),
        domain: v.domain,
        owner: v.owner,
        description: v.description,
        entities: v.entities,
        joinKeys: v.joinKeys,
        ttlSeconds: v.ttlSeconds,
        features: v.features,
        tags: v.tags,
        offline: m ? { rows: m.rows, maxEventTimestamp: m.maxEventTimestamp, computedAt: m.computedAt } : null,
        materializedUntil: online[tableId(v)]?.watermark ?? null,
      };
    }),
  );
}
