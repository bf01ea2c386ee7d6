import { Command } from 'commander';
import { createPlatform, type Platform } from '../../context.js';
import { Progress } from '../../progress.js';
import { signUserToken } from '../../auth.js';
import { MeshError, ErrorCode } from '../../errors.js';
import { generateMarketplace, DEFAULT_GENERATE, extractManifestKey, GENERATED_DOMAINS } from '../../../jobs/generate/index.js';
import { startMesh, EXAMPLE_QUERY, type RunningMesh } from '../../../gateway/mesh.js';
import { generateSummary } from './generate.js';
import { runAndSummarize } from './run.js';

const EXAMPLE_CUSTOMER = 'c-0000001';
const ROLES = ['admin', 'analyst', 'ml-engineer', 'sales-owner', 'payments-owner'];

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('bring the mesh up on embedded defaults: sources if absent, every pipeline, the subgraphs and the gateway')
    .option('--smoke', 'run the example query through the gateway as each role, then stop (for CI)')
    .action(async (o: { smoke?: boolean }) => {
      const platform = createPlatform();
      const present = await Promise.all(GENERATED_DOMAINS.map((d) => platform.store.head(extractManifestKey(d))));
      if (present.some((p) => p === undefined)) {
        process.stderr.write(`No raw sources in ${platform.store.url}: generating them (seed ${DEFAULT_GENERATE.seed}, scale ${DEFAULT_GENERATE.scale}).\n`);
        const report = await generateMarketplace(platform.store, DEFAULT_GENERATE, new Progress());
        process.stdout.write(`${generateSummary(report, platform.store.url)}\n`);
      }
      await runAndSummarize(platform, []);
      const mesh = await startMesh(platform, { gatewayPort: platform.config.gateway.port, randomPorts: o.smoke });
      if (o.smoke) {
        try {
          await smoke(platform, mesh);
        } finally {
          await mesh.close();
        }
        return;
      }
      process.stdout.write(await banner(platform, mesh));
      const stop = () => void mesh.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

async function banner(platform: Platform, mesh: RunningMesh): Promise<string> {
  const tokens = await Promise.all(ROLES.map(async (role) => `  ${role.padEnd(15)} ${await signUserToken({ sub: `demo-${role}`, role }, platform.config.auth)}`));
  const url = `${mesh.gateway.url}/graphql`;
  return [
    '',
    `Gateway   ${url}   (health ${mesh.gateway.url}/health, metrics ${mesh.gateway.url}/metrics)`,
    ...mesh.subgraphs.map((s) => `Subgraph  ${s.name.padEnd(12)} ${s.url}/graphql   v${s.version}`),
    '',
    'Example tokens (development secret; npx mesh token --role <role> makes more):',
    ...tokens,
    '',
    'Example query (PII masked for analysts, in clear for admins and the owning domain):',
    `  curl -s ${url} -H 'content-type: application/json' -H "authorization: Bearer $(npx mesh token --role analyst)" \\`,
    `    -d '${JSON.stringify({ query: EXAMPLE_QUERY.replace(/\s+/g, ' ').trim(), variables: { id: EXAMPLE_CUSTOMER } })}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function smoke(platform: Platform, mesh: RunningMesh): Promise<void> {
  for (const role of ROLES) {
    const token = await signUserToken({ sub: 'smoke', role }, platform.config.auth);
    const res = await fetch(`${mesh.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: EXAMPLE_QUERY, variables: { id: EXAMPLE_CUSTOMER } }),
    });
    const body = (await res.json()) as { data?: { customer?: { email?: string | null; orders?: unknown[] } }; errors?: { extensions?: { code?: string } }[] };
    const customer = body.data?.customer;
    const codes = [...new Set((body.errors ?? []).map((e) => e.extensions?.code))];
    process.stdout.write(`smoke ${role.padEnd(15)} HTTP ${res.status}, email ${JSON.stringify(customer?.email)}, ${customer?.orders?.length ?? 0} orders, DuckDB queries ${res.headers.get('x-mesh-duckdb-queries')}${codes.length ? `, errors ${codes.join(',')}` : ''}\n`);
    if (res.status !== 200 || !customer) throw new MeshError(ErrorCode.BAD_USER_INPUT, `smoke test failed for role ${role}: ${JSON.stringify(body).slice(0, 500)}`);
  }
}
