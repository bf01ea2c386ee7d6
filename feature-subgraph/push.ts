import type { Platform } from '../platform/index.js';
import { currentViews, loadRegistry, tableId, type ViewVersion } from './registry.js';
import { withLatestRowsOf } from './offline/compute.js';
import { writeLatestRows } from './materialize.js';
import type { OnlineStore } from './online/types.js';
import { asFeatureStore } from './storageRole.js';
import { parseTtl } from './definitions.js';

export interface PushReport {
  table: string;
  /** Entities the batch's events named. */
  entities: number;
  written: number;
  /** The store held a newer value (or the same one). */
  skipped: number;
  expired: number;
  ms: number;
}

/** The push views of a domain's stream source (FeatureViewDefinition.push). */
export async function pushViews(
  platform: Pick<Platform, 'store'>,
  domain: string,
  source: string,
): Promise<ViewVersion[]> {
  return currentViews(await loadRegistry(platform.store)).filter(
    (v) => v.domain === domain && v.push?.source === source,
  );
}

/**
 * Feast's push, driven by the stream: after a micro-batch publishes, a push view is computed over the version just
 * published for the entities the batch's events name (`entities`: join key values), and each one's latest row is
 * written online, where the newer event time wins. With the view's `push.lookback`, the datasets it names are read
 * only from that far before the batch's earliest event (a late event reaches further back). The offline table stays
 * the scheduled computation's.
 */
export async function pushStreamFeatures(
  shared: Platform,
  online: OnlineStore,
  view: ViewVersion,
  entities: string[][],
  /** The batch's earliest event time: with the view's push.lookback, rows before it by more than that are not read. */
  earliest?: Date,
): Promise<PushReport> {
  const platform = asFeatureStore(shared);
  const started = Date.now();
  const lookback = view.push?.lookback;
  const since =
    lookback && earliest
      ? { columns: lookback.columns, from: new Date(earliest.getTime() - parseTtl(lookback.within, view.name) * 1000) }
      : undefined;
  const result =
    entities.length === 0
      ? { written: 0, skipped: 0, expired: 0 }
      : await withLatestRowsOf(
          platform,
          view,
          entities,
          new Date(),
          (duck, latest) => writeLatestRows(duck, platform, online, view, latest),
          since,
        );
  const report = {
    table: tableId(view),
    entities: entities.length,
    written: result.written,
    skipped: result.skipped,
    expired: result.expired,
    ms: Date.now() - started,
  };
  platform.log.info({ ...report, domain: view.domain }, 'stream features pushed');
  return report;
}
