import { getJson, MeshError, ErrorCode, type ObjectStore } from '../../platform/index.js';
import { tableId, type ViewVersion } from '../registry.js';
import { offlineFeaturesManifestKey, offlineFeaturesPrefix } from '../../products/index.js';

/** The commit point of one view version's offline table; readers follow it, writers replace it last. */
export interface OfflineManifest {
  view: string;
  version: number;
  domain: string;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** The latest row per entity (absent in manifests written before it was kept). */
  latest?: { key: string; rows: number };
  /** Every (join keys, event_timestamp) occurs once: retrieval can skip de-duplication. */
  unique: boolean;
  minEventTimestamp: string | null;
  maxEventTimestamp: string | null;
  createdTimestamp: string;
  computedAt: string;
  /** How long the computation took (its compute cost); absent in manifests written before it was recorded. */
  durationMs?: number;
  /** Curated versions read, `domain:runId`. */
  inputs: string[];
  rejected: number;
}

export const offlinePrefix = (v: Pick<ViewVersion, 'domain' | 'name' | 'version'>) =>
  offlineFeaturesPrefix(v.domain, tableId(v));
export const offlineManifestKey = (v: Pick<ViewVersion, 'domain' | 'name' | 'version'>) =>
  offlineFeaturesManifestKey(v.domain, tableId(v));

export async function offlineManifest(store: ObjectStore, view: ViewVersion): Promise<OfflineManifest | undefined> {
  return getJson<OfflineManifest>(store, offlineManifestKey(view));
}

export async function requireOfflineTable(
  store: ObjectStore,
  view: ViewVersion,
): Promise<{ manifest: OfflineManifest; path: string }> {
  const manifest = await offlineManifest(store, view);
  if (!manifest) {
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `feature view ${tableId(view)} has no offline table yet (run: npx mesh features compute ${view.name})`,
      { view: tableId(view) },
    );
  }
  return { manifest, path: await store.localPath(manifest.key) };
}
