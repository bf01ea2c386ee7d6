import type { DomainInfo, Metrics } from '../platform/index.js';
import { dataAgeHours, streamFreshness } from '../products/index.js';
import { createOnlineStore } from '../feature-subgraph/index.js';
import type { MeshPlatform } from '../lineage/index.js';
import { loadSlos } from './slo.js';
import { SloEvaluator } from './sloStatus.js';
import { CostCache } from './cost.js';
import { observeCost, observeSlo } from './metrics.js';

export interface MeshObservation {
  /** Every data product's SLOs, evaluated continuously from the server's subgraph fetches and the curated manifests. */
  slo: SloEvaluator;
  /** Cost allocation per domain, refreshed in the background. */
  cost: CostCache;
  close(): Promise<void>;
}

/** SLO evaluation and cost allocation over a gateway's own metrics, exposed as metric families on its registry. */
export function observeMesh(platform: MeshPlatform, metrics: Metrics, domains: DomainInfo[]): MeshObservation {
  const names = domains.map((d) => d.name);
  const slos = loadSlos(domains);
  const streamed = slos.filter((s) => s.streamFreshness).map((s) => s.domain);
  const slo = new SloEvaluator(
    slos,
    () => metrics.fetchCounts(),
    () => dataAgeHours(platform, names),
    {
      intervalMs: platform.config.sloIntervalSeconds * 1000,
      streamFreshness: () => streamFreshness(platform, streamed),
    },
  ).start();
  const cost = new CostCache(platform, () => createOnlineStore(platform.config.online), {
    queryLoad: () => metrics.queryLoad(),
  });
  observeSlo(metrics, () => slo.status());
  observeCost(metrics, () => cost.peek());
  metrics.observeLineage(() => platform.lineage.emitter.snapshot());
  return {
    slo,
    cost,
    close: async () => {
      slo.stop();
      await cost.close();
    },
  };
}
