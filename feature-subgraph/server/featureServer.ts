import fs from 'node:fs';
import os from 'node:os';
import { ServingMetrics } from './servingMetrics.js';
import { ErrorCode, MeshError, Metrics, listDomains, type Platform, type Listening } from '../../platform/index.js';
import { serveSubgraph } from '../../products/index.js';
import { featureAccess, loadRoles, knownRoles } from '../../governance/index.js';
import { createOnlineStore, type OnlineStore } from '../online/index.js';
import { featureResolvers, featureSubgraphSdl, type FeatureContext } from './subgraphSchema.js';
import { onlineLoader } from './onlineLoader.js';
import { RegistryCache } from './registryCache.js';
import { feastRoutes } from './feastRoutes.js';
import { FeastAdmission } from './feastAdmission.js';
import { LargeReads } from './largeReads.js';
import { ModelCache } from './modelScoring.js';

export const FEATURES_SUBGRAPH = 'features';
/** The feature subgraph's own semver (feature-subgraph/package.json, CHANGELOG.md beside it). */
const VERSION = (
  JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface RunningFeatureServer extends Listening {
  name: string;
  version: string;
  sdl: string;
  online: OnlineStore;
  close(): Promise<void>;
}

/**
 * The feature server: the `features` subgraph (for the gateway, with its signed identity) and Feast's REST endpoint
 * `POST /get-online-features` (for ML code, with a user token), over the same online store and registry.
 */
/**
 * Replicas on several machines would each read and write a file of their own and answer differently, so more than one
 * replica needs the shared online store, as Feast's operator requires.
 */
function refuseFileStoreWithReplicas(config: Platform['config']): void {
  if (config.replicas > 1 && config.online.kind === 'sqlite')
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      `MESH_REPLICAS=${config.replicas}, but the online store is the embedded SQLite file, which each replica would ` +
        'keep apart and answer from differently: set REDIS_URL (Redis or, with MESH_REDIS_CLUSTER=true, a Redis ' +
        'Cluster) so every replica reads one store',
    );
}

export async function startFeatureServer(
  platform: Platform,
  options: { port: number; online?: OnlineStore },
): Promise<RunningFeatureServer> {
  refuseFileStoreWithReplicas(platform.config);
  const registries = new RegistryCache(platform.store);
  const models = new ModelCache(platform.store);
  const registry = await registries.get();
  const sdl = featureSubgraphSdl(registry);
  const store = options.online ?? createOnlineStore(platform.config.online);
  const metrics = new Metrics('feature-server');
  const serving = new ServingMetrics(metrics.registry);
  const online = serving.instrument(store);
  // Threads open the store of the configuration; a store handed in by the caller is read in this thread only. More
  // threads than cores would only take turns.
  const threads = Math.min(platform.config.admission.heavyConcurrency, os.availableParallelism());
  const largeReads = options.online ? undefined : new LargeReads(platform.config.online, threads, serving);
  const policy = loadRoles();
  const roles = knownRoles(
    policy,
    listDomains(platform.config.domainsDir).map((d) => d.name),
  );
  const listening = await serveSubgraph<FeatureContext>(platform, {
    name: FEATURES_SUBGRAPH,
    version: VERSION,
    sdl,
    resolvers: featureResolvers(registry),
    port: options.port,
    metrics,
    context: async (identity) => ({
      identity,
      registry: await registries.get(),
      online,
      loader: onlineLoader(online),
      resolved: new Map(),
      models,
      metrics: serving,
      now: platform.now,
    }),
    // The kind only: where the store lives (a file path, hosts) is nobody's business on an open probe.
    health: () => ({ onlineStore: platform.config.online.kind }),
    knownRole: (role) => roles.includes(role),
    routes: feastRoutes({
      platform,
      admission: new FeastAdmission(platform.config.admission, metrics),
      largeReads,
      registries,
      online,
      serving,
      roles,
      access: (role) => featureAccess(policy, role),
    }),
  });
  return {
    ...listening,
    name: FEATURES_SUBGRAPH,
    version: VERSION,
    sdl,
    online,
    close: async () => {
      await listening.close();
      await largeReads?.close();
      if (!options.online) await store.close();
    },
  };
}
