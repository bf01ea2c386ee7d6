import fs from 'node:fs';
import path from 'node:path';
import {
  listDomains,
  childEnvironment,
  freePort,
  Supervisor,
  MeshError,
  ErrorCode,
  type ServedProcess,
} from '../platform/index.js';
import { SCHEMA_FILE } from '../products/index.js';
import { publishBaselines } from '../governance/index.js';
import { publisher } from './publisher.js';
import { servingPort } from './servedProcess.js';
import { METADATA_SUBGRAPH, type MeshPlatform } from '../lineage/index.js';
import { loadRegistry, FEATURES_SUBGRAPH } from '../feature-subgraph/index.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../gateway/index.js';

const BIN = path.join(path.dirname(new URL(import.meta.url).pathname), 'bin.js');

export interface SupervisedMesh {
  gateway: RunningGateway;
  /** The first replica of each domain subgraph. */
  subgraphs: ServedProcess[];
  /** Every replica's process, by subgraph (domains and features), the first one first. */
  replicas: Map<string, ServedProcess[]>;
  features?: ServedProcess;
  metadata: ServedProcess;
  supervisor: Supervisor;
  close(): Promise<void>;
}

/**
 * The mesh as deployed: every domain subgraph, the feature server and the metadata server in a process of its own
 * (`replicas` of each domain and of the feature server), under a supervisor that restarts what dies, and the gateway
 * in this process, following the registry's published supergraph and routing to those processes. A crash or a heavy
 * query in one domain touches no other; the gateway answers partial data while a process is down.
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
    /** Processes of every domain subgraph and of the feature server (default: MESH_REPLICAS). */
    replicas?: number;
  },
): Promise<SupervisedMesh> {
  // A restarted process must come back on the port the supergraph routes to, so ports are fixed before the first start.
  const portOf = async (name: string) => (options.randomPorts ? 0 : servingPort(platform, name)) || freePort();
  // A process started (or restarted) later joins the data clock where it is now, and runs it at the same speed.
  const clocked = platform.config.now !== undefined || (platform.config.simulationSpeed || 1) !== 1;
  const count = options.replicas ?? platform.config.replicas;
  const env = () => {
    const clock: Record<string, string> = clocked
      ? { MESH_NOW: new Date(platform.now()).toISOString(), MESH_NOW_SINCE: new Date().toISOString() }
      : {};
    // Every process knows it is one of several: the feature server refuses a file-backed online store then.
    const extra = { ...clock, MESH_REPLICAS: String(count) };
    return options.env ? { ...options.env, ...extra } : childEnvironment(extra);
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
    // Replica 1 keeps the subgraph's name and port; the others are `<name>#2`… on free ports.
    const replicated = (name: string, args: (port: number) => string[], gated?: Promise<void>) =>
      Promise.all(
        Array.from({ length: count }, async (_, i) =>
          supervisor.start({
            name: i === 0 ? name : `${name}#${i + 1}`,
            args: args(i === 0 ? await portOf(name) : options.randomPorts ? 0 : await freePort()),
            gate: gated,
          }),
        ),
      );
    const started = Promise.all([
      Promise.all(domains.map((d) => replicated(d.name, (port) => ['serve', d.name, '--port', String(port)]))),
      supervisor.start({
        name: METADATA_SUBGRAPH,
        args: ['lineage', 'serve', '--port', String(await portOf(METADATA_SUBGRAPH))],
      }),
      replicated(FEATURES_SUBGRAPH, (port) => ['features', 'serve', '--port', String(port)], gate).catch(
        async (err: unknown) => {
          if (await hasFeatures.catch(() => true)) throw err;
          return undefined;
        },
      ),
    ]);
    // Settle both before judging either: a failure of one must not leave the other running unobserved.
    const [done] = await Promise.allSettled([alongside, started]);
    if (done.status === 'rejected') throw done.reason;
    const [domainReplicas, metadata, featureReplicas] = await started;
    const replicas = new Map(
      [...domainReplicas, ...(featureReplicas ? [featureReplicas] : [])].map((r) => [r[0]!.name, r]),
    );
    const subgraphs = domainReplicas.map((r) => r[0]!);
    const features = featureReplicas?.[0];
    // The gateway serves what the schema registry published, as on any machine (a first start publishes each
    // subgraph's baseline), and routes each subgraph to where its processes listen here.
    await publishBaselines(platform, publisher('mesh start'));
    const gateway = await startGateway(platform, {
      port: options.gatewayPort,
      routes: options.routes,
      processes: supervisor,
      subgraphUrls: new Map(
        [...replicas, [metadata.name, [metadata]] as const].map(([name, r]) => [
          name,
          r.map((p) => `${p.url}/graphql`),
        ]),
      ),
    });
    return {
      gateway,
      subgraphs,
      replicas,
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
