import path from 'node:path';
import { Command } from 'commander';
import {
  selectDomains,
  signUserToken,
  listDomains,
  writeAtomic,
  REPO_ROOT,
  MeshError,
  ErrorCode,
  closeThenExit,
  platformAs,
} from '../../platform/index.js';
import { startSubgraph } from '../../products/index.js';
import { keepServing, servingPort } from '../servedProcess.js';
import { composeSupergraph, loadSupergraphConfig, loadRoles, knownRoles, piiGuard } from '../../governance/index.js';
import { createMeshPlatform } from '../platform.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be a port number, got "${v}"`);
  return n;
};

/** Keeps a server up until Ctrl-C, then closes it. */
function untilInterrupted(close: () => Promise<void>): void {
  const stop = () => closeThenExit(close);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("serve one domain's subgraph over its curated data")
    .argument('<domain>')
    .option('--port <n>', 'port (default: its routing_url in supergraph.yaml)', port)
    .action(async (name: string, o: { port?: number }) => {
      // The domain's subgraph reads its data with the domain's serving credentials.
      const platform = platformAs(createMeshPlatform(), `${name}-serving`);
      const [domain] = selectDomains(platform.config.domainsDir, [name]);
      const s = await startSubgraph(platform, domain!, {
        port: servingPort(platform, name, o.port),
        guard: piiGuard(listDomains(platform.config.domainsDir)),
      });
      process.stdout.write(
        `subgraph ${s.name}@${s.version} at ${s.url}/graphql (health ${s.url}/health, metrics ${s.url}/metrics)\n`,
      );
      keepServing(s, s.close);
    });

  program
    .command('compose')
    .description("compose supergraph.yaml's subgraphs into a supergraph SDL (exits non-zero on composition errors)")
    .option('--config <file>', 'Rover supergraph config (default: MESH_SUPERGRAPH_CONFIG or ./supergraph.yaml)')
    .option('--out <file>', 'where to write the supergraph (default: MESH_SUPERGRAPH_FILE)')
    .action((o: { config?: string; out?: string }) => {
      const platform = createMeshPlatform();
      o.config = path.resolve(o.config ?? platform.config.gateway.config);
      const { supergraphSdl, hints } = composeSupergraph(loadSupergraphConfig(o.config));
      const out = path.resolve(o.out ?? platform.config.gateway.supergraphFile);
      writeAtomic(out, supergraphSdl);
      process.stdout.write(
        `composed ${path.relative(REPO_ROOT, path.resolve(o.config))} into ${out} (${hints.length} hints)\n`,
      );
    });

  program
    .command('gateway')
    .description(
      'serve the federated gateway over the supergraph the schema registry published, following every new ' +
        'publication (or over a composed file, reloaded when it changes)',
    )
    .option('--supergraph <file>', "a composed supergraph SDL file to serve instead of the registry's")
    .option('--port <n>', 'port (default: MESH_GATEWAY_PORT or 4000)', port)
    .option('--open', 'treat every request as admin (local experiments only; refused in production)')
    .action(async (o: { supergraph?: string; port?: number; open?: boolean }) => {
      const platform = createMeshPlatform();
      // Loaded here: the processes that serve one subgraph (same module) never load the gateway.
      const [{ startGateway }, { consoleRoutes }] = await Promise.all([
        import('../../gateway/index.js'),
        import('../../console/index.js'),
      ]);
      const g = await startGateway(platform, {
        supergraphFile: o.supergraph === undefined ? undefined : path.resolve(o.supergraph),
        port: o.port ?? platform.config.gateway.port,
        open: o.open,
        routes: (g) => consoleRoutes(platform, g),
      });
      process.stdout.write(`gateway at ${g.url}/graphql (health ${g.url}/health, metrics ${g.url}/metrics)\n`);
      untilInterrupted(g.close);
    });

  program
    .command('token')
    .description('print a development token (signed with MESH_JWT_SECRET) for a role')
    .requiredOption('--role <role>', 'admin, analyst, ml-engineer or <domain>-owner')
    .option('--sub <id>', 'subject', 'dev-user')
    .option('--expires <duration>', 'lifetime, e.g. 12h', '12h')
    .action(async (o: { role: string; sub: string; expires: string }) => {
      const platform = createMeshPlatform();
      const roles = knownRoles(
        loadRoles(),
        listDomains(platform.config.domainsDir).map((d) => d.name),
      );
      if (!roles.includes(o.role))
        throw new MeshError(ErrorCode.BAD_USER_INPUT, `unknown role "${o.role}" (known: ${roles.join(', ')})`);
      process.stdout.write(`${await signUserToken({ sub: o.sub, role: o.role }, platform.config.auth, o.expires)}\n`);
    });
}
