import fs from 'node:fs';
import path from 'node:path';
import type { Platform } from '../platform/context.js';
import { REPO_ROOT } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { startSubgraph, SCHEMA_FILE, type RunningSubgraph } from '../platform/subgraph/serve.js';
import { composeSupergraph, loadSupergraphConfig, type SubgraphSource } from '../governance/composition.js';
import { startGateway, type RunningGateway } from './index.js';
import { writeAtomic } from '../platform/files.js';
import { loadRegistry } from '../feature-subgraph/registry.js';
import { startFeatureServer, FEATURES_SUBGRAPH, type RunningFeatureServer } from '../feature-subgraph/serving/server.js';
import { startMetadataServer, METADATA_SUBGRAPH, type RunningMetadataServer } from '../lineage/server.js';

export const EXAMPLE_QUERY = fs.readFileSync(path.join(REPO_ROOT, 'gateway', 'examples', 'CustomerOverview.graphql'), 'utf8');

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
 * The whole mesh in one process, for `npm start` and tests: every domain's subgraph (on the port supergraph.yaml gives it,
 * or any free port), a supergraph composed from what is actually running, and the gateway.
 */
export async function startMesh(platform: Platform, options: { gatewayPort: number; randomPorts?: boolean; open?: boolean }): Promise<RunningMesh> {
  const configured = new Map(loadSupergraphConfig(platform.config.gateway.config).map((s) => [s.name, s.url]));
  const subgraphs: RunningSubgraph[] = [];
  let features: RunningFeatureServer | undefined;
  let metadata: RunningMetadataServer | undefined;
  try {
    for (const domain of listDomains(platform.config.domainsDir).filter((d) => fs.existsSync(path.join(d.dir, SCHEMA_FILE)))) {
      const url = configured.get(domain.name);
      const port = options.randomPorts || !url ? 0 : Number(new URL(url).port);
      subgraphs.push(await startSubgraph(platform, domain, port));
    }
    if (Object.keys((await loadRegistry(platform.store)).entities).length > 0) {
      const url = configured.get(FEATURES_SUBGRAPH);
      features = await startFeatureServer(platform, { port: options.randomPorts || !url ? 0 : Number(new URL(url).port) });
    }
    const metadataUrl = configured.get(METADATA_SUBGRAPH);
    metadata = await startMetadataServer(platform, { port: options.randomPorts || !metadataUrl ? 0 : Number(new URL(metadataUrl).port) });
    const supergraphFile = platform.config.gateway.supergraphFile;
    writeAtomic(supergraphFile, composeSupergraph(sources([...subgraphs, ...(features ? [features] : []), metadata])).supergraphSdl);
    const gateway = await startGateway(platform, { supergraphFile, port: options.gatewayPort, open: options.open });
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
