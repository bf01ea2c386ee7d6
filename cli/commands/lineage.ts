import fs from 'node:fs';
import { Command } from 'commander';
import {
  dataHubProposals,
  emitToDataHub,
  dataProducts,
  startMetadataServer,
  METADATA_SUBGRAPH,
} from '../../lineage/index.js';
import { MeshError, ErrorCode } from '../../platform/index.js';
import { keepServing, servingPort } from '../servedProcess.js';
import { table } from '../format.js';
import { reportJobMetrics, jobRunSamples } from '../../products/index.js';
import { createMeshPlatform } from '../platform.js';

/** `sales.customers.email` → dataset `sales.customers`, field `email`; `sales.customers` alone is the whole dataset. */
function target(ref: string): { name: string; field?: string } {
  const parts = ref.split('.');
  if (parts.length < 2)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `"${ref}" must be a dataset (domain.dataset) or a column (domain.dataset.column)`,
    );
  return parts.length === 2 ? { name: ref } : { name: parts.slice(0, -1).join('.'), field: parts.at(-1) };
}

export function registerLineage(program: Command): void {
  const lineage = program
    .command('lineage')
    .description('the lineage graph: upstream, downstream, who reads a column; DataHub export');
  for (const direction of ['upstream', 'downstream'] as const) {
    lineage
      .command(direction)
      .description(
        direction === 'upstream'
          ? 'what a dataset or column comes from, across domains'
          : 'what is computed from a dataset or column: datasets, features, online tables, operations',
      )
      .argument('<ref>', 'domain.dataset or domain.dataset.column (or any dataset name in the graph)')
      .option('--depth <n>', 'hops', Number, 50)
      .option('--json', 'as JSON')
      .action(async (ref: string, o: { depth: number; json?: boolean }) => {
        const { name, field } = target(ref);
        const graph = createMeshPlatform().lineage.graph;
        const rows = await (direction === 'upstream'
          ? graph.upstream(name, field, o.depth)
          : graph.downstream(name, field, o.depth));
        if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        process.stdout.write(
          `${table(
            ['depth', 'dataset', 'field', 'via job'],
            rows.map((r) => [r.depth, r.name, r.field, r.via]),
          )}\n`,
        );
      });
  }
  lineage
    .command('serve')
    .description('serve the metadata subgraph: data products and the lineage graph')
    .option('--port <n>', 'port (default: its routing_url in supergraph.yaml)', Number)
    .action(async (o: { port?: number }) => {
      const platform = createMeshPlatform();
      const s = await startMetadataServer(platform, { port: servingPort(platform, METADATA_SUBGRAPH, o.port) });
      process.stdout.write(`metadata subgraph at ${s.url}/graphql\n`);
      keepServing(s, s.close);
    });
  lineage
    .command('readers')
    .description('gateway operations, clients and roles that read a column, masked or in clear')
    .argument('<column>', 'domain.dataset.column')
    .option('--json', 'as JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const { name, field } = target(ref);
      if (!field) throw new MeshError(ErrorCode.BAD_USER_INPUT, 'readers needs a column: domain.dataset.column');
      const rows = await createMeshPlatform().lineage.graph.readers(name, field);
      if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      process.stdout.write(
        `${table(
          ['operation', 'client', 'role', 'masked', 'count', 'last seen'],
          rows.map((r) => [r.operation, r.client, r.role, r.masked ? 'yes' : 'no', r.count, r.lastSeen]),
        )}\n`,
      );
    });
  lineage
    .command('datahub')
    .description(
      'metadata change proposals for DataHub: datasets (raw to online) with schemas, owners, PII terms and column ' +
        'lineage, pipelines as jobs, feature tables and models, gateway operations',
    )
    .option('--out <file>', 'write them as a file `datahub ingest` reads')
    .option('--emit', 'send them to DATAHUB_GMS_URL')
    .option('--min-executions <n>', 'recorded GraphQL operations run fewer times are left out', '10')
    .action(async (o: { out?: string; emit?: boolean; minExecutions: string }) => {
      const platform = createMeshPlatform();
      const minOperationExecutions = Number(o.minExecutions);
      if (!Number.isInteger(minOperationExecutions) || minOperationExecutions < 0)
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `--min-executions must be a whole number, got "${o.minExecutions}"`,
        );
      const proposals = await dataHubProposals(platform, { minOperationExecutions });
      if (o.out) fs.writeFileSync(o.out, `${JSON.stringify(proposals, null, 2)}\n`);
      if (o.emit) {
        if (!platform.config.lineage.datahub)
          throw new MeshError(ErrorCode.CONFIG_INVALID, '--emit needs DATAHUB_GMS_URL');
        const started = Date.now();
        const progress = { sent: 0 };
        let failure: unknown;
        await emitToDataHub(platform.config.lineage.datahub, proposals, progress).catch(
          (err: unknown) => (failure = err),
        );
        await reportJobMetrics(platform, 'lineage.datahub', [
          ...jobRunSamples('lineage.datahub', {
            finishedAt: new Date(),
            durationMs: Date.now() - started,
            ok: failure === undefined,
          }),
          ...(['sent', 'unsent'] as const).map((outcome) => ({
            name: 'mesh_datahub_proposals',
            help: 'Metadata change proposals of the last DataHub emission, sent or left unsent by a failure',
            labels: { outcome },
            value: outcome === 'sent' ? progress.sent : proposals.length - progress.sent,
          })),
        ]);
        if (failure) throw failure;
        process.stdout.write(`sent ${progress.sent} proposals to ${platform.config.lineage.datahub.gmsUrl}\n`);
      }
      if (!o.out && !o.emit) process.stdout.write(`${JSON.stringify(proposals, null, 2)}\n`);
      else process.stdout.write(`${proposals.length} proposals\n`);
    });

  program
    .command('catalog')
    .description('the data product catalog: owner, version, contract, SLOs, freshness, quality, schema, consumers')
    .argument('[domain]')
    .option('--json', 'as JSON')
    .action(async (domain: string | undefined, o: { json?: boolean }) => {
      const products = (await dataProducts(createMeshPlatform())).filter((p) => !domain || p.domain === domain);
      if (o.json) return void process.stdout.write(`${JSON.stringify(products, null, 2)}\n`);
      process.stdout.write(
        `${table(
          ['product', 'owner', 'contract', 'subgraph', 'datasets', 'data as of', 'fresh (SLO)', 'quality', 'consumers'],
          products.map((p) => [
            p.name,
            p.owner,
            p.contractVersion,
            p.domainVersion,
            p.datasets.map((d) => `${d.name} (${d.rows})`).join(', '),
            p.freshness.dataAsOf ?? '-',
            p.freshness.ok === null
              ? '-'
              : `${p.freshness.ok ? '✔' : '✖'} ${p.freshness.ageHours}h (${p.freshness.sloHours}h)`,
            p.quality ? `${p.quality.passed}/${p.quality.total}` : '-',
            p.consumers.map((c) => c.job).join(', ') || '-',
          ]),
        )}\n`,
      );
    });
}
