import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, listDomains, writeAtomic } from '../platform/index.js';
import { startSubgraph, SCHEMA_FILE, type RunningSubgraph } from '../products/index.js';
import { composeSupergraph, loadSupergraphConfig, piiGuard, type SubgraphSource } from '../governance/index.js';
import { startGateway, type GatewayOptions, type RunningGateway } from './server.js';
import {
  startMetadataServer,
  METADATA_SUBGRAPH,
  type MeshPlatform,
  type RunningMetadataServer,
} from '../lineage/index.js';
import {
  loadRegistry,
  startFeatureServer,
  FEATURES_SUBGRAPH,
  type RunningFeatureServer,
} from '../feature-subgraph/index.js';

export const EXAMPLE_QUERY = fs.readFileSync(
  path.join(REPO_ROOT, 'gateway', 'examples', 'CustomerOverview.graphql'),
  'utf8',
);

export interface RunningMesh {
  gateway: RunningGateway;
  subgraphs: RunningSubgraph[];
  /** Absent until feature views are registered (npx mesh features apply). */
  features?: RunningFeatureServer;
  /** Data products and lineage. */
  metadata: RunningMetadataServer;
  supergraphFile: string;
  close(): Promise<void>;
}

/**
 * The whole mesh in one process, for `npm start` and tests: every domain's subgraph (on the port supergraph.yaml gives
 * it, or any free port), a supergraph composed from what is actually running, and the gateway.
 */
export async function startMesh(
  platform: MeshPlatform,
  options: { gatewayPort: number; randomPorts?: boolean; open?: boolean; routes?: GatewayOptions['routes'] },
): Promise<RunningMesh> {
  const configured = new Map(loadSupergraphConfig(platform.config.gateway.config).map((s) => [s.name, s.url]));
  const subgraphs: RunningSubgraph[] = [];
  const guard = piiGuard(listDomains(platform.config.domainsDir));
  let features: RunningFeatureServer | undefined;
  let metadata: RunningMetadataServer | undefined;
  try {
    for (const domain of listDomains(platform.config.domainsDir).filter((d) =>
      fs.existsSync(path.join(d.dir, SCHEMA_FILE)),
    )) {
      const url = configured.get(domain.name);
      const port = options.randomPorts || !url ? 0 : Number(new URL(url).port);
      subgraphs.push(await startSubgraph(platform, domain, { port, guard }));
    }
    if (Object.keys((await loadRegistry(platform.store)).entities).length > 0) {
      const url = configured.get(FEATURES_SUBGRAPH);
      features = await startFeatureServer(platform, {
        port: options.randomPorts || !url ? 0 : Number(new URL(url).port),
      });
    }
    const metadataUrl = configured.get(METADATA_SUBGRAPH);
    metadata = await startMetadataServer(platform, {
      port: options.randomPorts || !metadataUrl ? 0 : Number(new URL(metadataUrl).port),
    });
    const supergraphFile = platform.config.gateway.supergraphFile;
    writeAtomic(
      supergraphFile,
      composeSupergraph(sources([...subgraphs, ...(features ? [features] : []), metadata])).supergraphSdl,
    );
    const gateway = await startGateway(platform, {
      supergraphFile,
      port: options.gatewayPort,
      open: options.open,
      routes: options.routes,
    });
    return {
      gateway,
      subgraphs,
      features,
      metadata,
      supergraphFile,
      close: async () => {
        await gateway.close();
        await Promise.all([...subgraphs.map((s) => s.close()), features?.close(), metadata?.close()]);
      },
    };
  } catch (err) {
    await Promise.all([...subgraphs.map((s) => s.close()), features?.close(), metadata?.close()]);
    throw err;
  }
}

export function sources(subgraphs: { name: string; url: string; sdl: string }[]): SubgraphSource[] {
  return subgraphs.map((s) => ({ name: s.name, url: `${s.url}/graphql`, sdl: s.sdl }));
}
