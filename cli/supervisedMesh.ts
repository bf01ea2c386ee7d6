import fs from 'node:fs';
import path from 'node:path';
import {
  listDomains,
  writeAtomic,
  childEnvironment,
  freePort,
  Supervisor,
  MeshError,
  ErrorCode,
  type ServedProcess,
} from '../platform/index.js';
import { SCHEMA_FILE } from '../products/index.js';
import { composeSupergraph } from '../governance/index.js';
import { servingPort } from './servedProcess.js';
import { METADATA_SUBGRAPH, type MeshPlatform } from '../lineage/index.js';
import { loadRegistry, FEATURES_SUBGRAPH } from '../feature-subgraph/index.js';
import { sources, startGateway, type GatewayOptions, type RunningGateway } from '../gateway/index.js';

const BIN = path.join(path.dirname(new URL(import.meta.url).pathname), 'bin.js');

export interface SupervisedMesh {
  gateway: RunningGateway;
  subgraphs: ServedProcess[];
  features?: ServedProcess;
  metadata: ServedProcess;
  supervisor: Supervisor;
  close(): Promise<void>;
}

/**
 * The mesh as deployed: every domain subgraph, the feature server and the metadata server in a process of its own,
 * under a supervisor that restarts what dies, and the gateway in this process over a supergraph composed from what they
 * serve. A crash or a heavy query in one domain touches no other; the gateway answers partial data while a process is
 * down.
 */
export async function startSupervisedMesh(
  platform: MeshPlatform,
  options: {
    gatewayPort: number;
    randomPorts?: boolean;
    routes?: GatewayOptions['routes'];
    /**
     * Work to run while the domain and metadata processes start (feature computation): the feature server starts after
     * it.
     */
    alongside?: () => Promise<void>;
    /** The processes' environment, where they read their configuration (default: this process's). */
    env?: NodeJS.ProcessEnv;
  },
): Promise<SupervisedMesh> {
  // A restarted process must come back on the port the supergraph routes to, so ports are fixed before the first start.
  const portOf = async (name: string) => (options.randomPorts ? 0 : servingPort(platform, name)) || freePort();
  // A process started (or restarted) later joins the data clock where it is now, and runs it at the same speed.
  const clocked = platform.config.now !== undefined || (platform.config.simulationSpeed || 1) !== 1;
  const env = () => {
    const clock: Record<string, string> = clocked
      ? { MESH_NOW: new Date(platform.now()).toISOString(), MESH_NOW_SINCE: new Date().toISOString() }
      : {};
    return options.env ? { ...options.env, ...clock } : childEnvironment(clock);
  };
  const supervisor = new Supervisor(BIN, { log: platform.log, env });
  try {
    const domains = listDomains(platform.config.domainsDir).filter((d) => fs.existsSync(path.join(d.dir, SCHEMA_FILE)));
    const alongside = Promise.resolve().then(() => options.alongside?.());
    // The feature server forks with the others (loading code takes seconds) and serves once the work alongside has
    // written the registry and the online store; without feature views it is not started at all.
    const hasFeatures = alongside.then(
      async () => Object.keys((await loadRegistry(platform.store)).entities).length > 0,
    );
    const gate = hasFeatures.then((yes) => {
      if (!yes) throw new MeshError(ErrorCode.NOT_FOUND, 'no feature views are registered');
    });
    const started = Promise.all([
      Promise.all(
        domains.map(async (d) =>
          supervisor.start({ name: d.name, args: ['serve', d.name, '--port', String(await portOf(d.name))] }),
        ),
      ),
      supervisor.start({
        name: METADATA_SUBGRAPH,
        args: ['lineage', 'serve', '--port', String(await portOf(METADATA_SUBGRAPH))],
      }),
      supervisor
        .start({
          name: FEATURES_SUBGRAPH,
          args: ['features', 'serve', '--port', String(await portOf(FEATURES_SUBGRAPH))],
          gate,
        })
        .catch(async (err: unknown) => {
          if (await hasFeatures.catch(() => true)) throw err;
          return undefined;
        }),
    ]);
    // Settle both before judging either: a failure of one must not leave the other running unobserved.
    const [done] = await Promise.allSettled([alongside, started]);
    if (done.status === 'rejected') throw done.reason;
    const [subgraphs, metadata, features] = await started;
    const supergraphFile = platform.config.gateway.supergraphFile;
    writeAtomic(
      supergraphFile,
      composeSupergraph(sources([...subgraphs, ...(features ? [features] : []), metadata])).supergraphSdl,
    );
    const gateway = await startGateway(platform, {
      supergraphFile,
      port: options.gatewayPort,
      routes: options.routes,
      processes: supervisor,
    });
    return {
      gateway,
      subgraphs,
      features,
      metadata,
      supervisor,
      close: async () => {
        await gateway.close();
        await supervisor.close();
      },
    };
  } catch (err) {
    await supervisor.close();
    throw err;
  }
}
