import { Command } from 'commander';
import { type MeshPlatform } from '../../lineage/index.js';
import { MeshError, ErrorCode, formatMs, selectDomains, serveGate } from '../../platform/index.js';
import { keepServing, servingPort } from '../servedProcess.js';
import { dateOption, perSecond, table } from '../format.js';
import {
  applyFeatures,
  computeFeatures,
  listFeatureViews,
  planFeatures,
  materialize,
  writeTrainingSet,
  createOnlineStore,
  startFeatureServer,
  FEATURES_SUBGRAPH,
  featureSubgraphSdl,
  type MaterializeReport,
  type PlannedChange,
  type OfflineManifest,
  loadRegistry,
  tableId,
  viewsReading,
} from '../../feature-subgraph/index.js';
import { createMeshPlatform } from '../platform.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerFeatures(program: Command): void {
  const features = program
    .command('features')
    .description('the feature store: registry, offline tables, materialization, training sets, serving');

  features
    .command('plan')
    .description('show what apply would change in the registry')
    .action(async () => {
      const { changes } = await planFeatures(createMeshPlatform());
      process.stdout.write(`${planTable(changes)}\n`);
    });

  features
    .command('apply')
    .description("register every domain's feature views and services (a changed definition becomes a new version)")
    .action(async () => {
      const changes = await applyFeatures(createMeshPlatform());
      process.stdout.write(
        `${planTable(changes)}\n${changes.some((c) => c.action !== 'unchanged') ? 'applied' : 'nothing to apply'}\n`,
      );
    });

  features
    .command('list')
    .description('every current feature view: version, owner, domain, join keys, features, freshness')
    .option('--json', 'as a JSON array')
    .action(async (o: { json?: boolean }) => {
      const views = await listFeatureViews(createMeshPlatform());
      if (o.json) return void process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
      process.stdout.write(
        `${table(
          ['view', 'domain', 'owner', 'join keys', 'features', 'ttl', 'offline rows', 'data until', 'online until'],
          views.map((v) => [
            `${v.name}@v${v.version}`,
            v.domain,
            v.owner,
            v.joinKeys.join(','),
            v.features.length,
            v.ttlSeconds ? `${v.ttlSeconds / 86400}d` : '∞',
            v.offline?.rows ?? 0,
            v.offline?.maxEventTimestamp ?? '-',
            v.materializedUntil ?? '-',
          ]),
        )}\n`,
      );
    });

  features
    .command('compute')
    .description('compute offline feature tables from curated data (named views, or every current view)')
    .argument('[views...]', 'view or view@vN')
    .option('--domain <name>', "the views that read this domain's data (its own and those joining it)")
    .action(async (views: string[], o: { domain?: string }) => {
      const platform = createMeshPlatform();
      const selected = o.domain ? await viewsOfDomain(platform, o.domain) : views;
      // An empty selection means every view: a domain no view reads computes none.
      if (o.domain && selected.length === 0) return void process.stdout.write(`No feature view reads ${o.domain}.\n`);
      await computeAndPrint(platform, { views: selected });
    });

  features
    .command('materialize')
    .description('load the latest values with event time in [start, end] into the online store')
    .requiredOption('--start <iso>', 'window start', dateOption('--start'))
    .option('--end <iso>', 'window end (default: now)', dateOption('--end'))
    .option('--views <list>', 'comma-separated views (default: all current)', list)
    .action(async (o: { start: Date; end?: Date; views?: string[] }) => {
      await materializeAndPrint(createMeshPlatform(), { start: o.start, end: o.end ?? new Date(), views: o.views });
    });

  features
    .command('materialize-incremental')
    .description('materialize each view from its watermark up to end (default: now)')
    .option('--end <iso>', 'window end', dateOption('--end'))
    .option('--views <list>', 'comma-separated views (default: all current)', list)
    .option('--domain <name>', "the views that read this domain's data")
    .action(async (o: { end?: Date; views?: string[]; domain?: string }) => {
      const platform = createMeshPlatform();
      const selected = o.domain ? await viewsOfDomain(platform, o.domain) : o.views;
      if (o.domain && selected!.length === 0) return void process.stdout.write(`No feature view reads ${o.domain}.\n`);
      await materializeAndPrint(platform, { incremental: true, end: o.end ?? new Date(), views: selected });
    });

  features
    .command('training-set')
    .description('point-in-time-correct features for entity rows (join keys + event_timestamp), written to Parquet')
    .requiredOption('--entities <file>', 'Parquet or CSV entity rows')
    .option('--features <list>', 'comma-separated view:feature references', list)
    .option('--service <name>', 'a feature service (name or name@vN)')
    .option('--full-names', 'name columns view__feature')
    .requiredOption('--out <file>', 'Parquet file to write')
    .action(
      async (o: { entities: string; features?: string[]; service?: string; fullNames?: boolean; out: string }) => {
        const r = await writeTrainingSet(createMeshPlatform(), {
          entities: o.entities,
          features: o.features,
          service: o.service,
          fullFeatureNames: o.fullNames,
          out: o.out,
        });
        process.stdout.write(
          `${o.out}: ${r.rows.toLocaleString('en-US')} rows, ${r.columns.length} columns ` +
            `in ${formatMs(r.ms)} (${perSecond(r.rows, r.ms)} rows/s)\n`,
        );
      },
    );

  features
    .command('serve')
    .description('serve the features subgraph and Feast REST (POST /get-online-features)')
    .option('--port <n>', 'port (default: its routing_url in supergraph.yaml)', Number)
    .action(async (o: { port?: number }) => {
      const platform = createMeshPlatform();
      await serveGate(platform.config.supervisorGate);
      const s = await startFeatureServer(platform, { port: servingPort(platform, FEATURES_SUBGRAPH, o.port) });
      process.stdout.write(
        `features subgraph at ${s.url}/graphql, Feast REST at ${s.url}/get-online-features, online ` +
          `store ${s.online.url}\n`,
      );
      keepServing(
        { name: s.name, url: s.url, version: s.version, sdl: s.sdl, detail: `online store ${s.online.url}` },
        s.close,
      );
    });

  features
    .command('schema')
    .description("print the features subgraph's SDL generated from the registry")
    .action(async () => {
      const { next } = await planFeatures(createMeshPlatform());
      process.stdout.write(featureSubgraphSdl(next));
    });
}

function planTable(changes: PlannedChange[]): string {
  const v = (n?: number) => (n === undefined ? '' : `v${n}`);
  return table(
    ['', 'kind', 'name', 'from', 'to', 'detail'],
    changes.map((c) => [
      { create: '+', 'new-version': '~', update: '~', retire: '-', unchanged: ' ' }[c.action],
      c.kind,
      c.name,
      v(c.from),
      v(c.to),
      c.detail ?? c.action,
    ]),
  );
}

export async function computeAndPrint(
  platform: MeshPlatform,
  select: { views?: string[]; domains?: string[] },
): Promise<OfflineManifest[]> {
  const started = Date.now();
  const out = await computeFeatures(platform, select, (m) =>
    process.stdout.write(
      `  ${`${m.view}@v${m.version}`.padEnd(28)} ${m.rows.toLocaleString('en-US').padStart(10)} rows up ` +
        `to ${m.maxEventTimestamp}${m.rejected ? `, ${m.rejected} quarantined` : ''}\n`,
    ),
  );
  process.stdout.write(`computed ${out.length} feature view(s) in ${formatMs(Date.now() - started)}\n`);
  return out;
}

export async function materializeAndPrint(
  platform: MeshPlatform,
  options: Parameters<typeof materialize>[2],
): Promise<MaterializeReport[]> {
  const online = createOnlineStore(platform.config.online);
  try {
    const reports = await materialize(platform, online, options);
    process.stdout.write(
      `${table(
        ['view', 'from', 'to', 'entities', 'written', 'skipped', 'expired', 'time'],
        reports.map((r) => [r.table, r.start, r.end, r.rows, r.written, r.skipped, r.expired, formatMs(r.ms)]),
      )}\nonline store: ${online.url}\n`,
    );
    return reports;
  } catch (err) {
    throw err instanceof MeshError
      ? err
      : new MeshError(ErrorCode.ONLINE_STORE_ERROR, (err as Error).message, {}, { cause: err });
  } finally {
    await online.close();
  }
}

/** The current views a domain's data feeds, as view@vN; an unknown domain is an error naming the known ones. */
export async function viewsOfDomain(platform: MeshPlatform, domain: string): Promise<string[]> {
  selectDomains(platform.config.domainsDir, [domain]);
  return viewsReading(await loadRegistry(platform.store), domain).map(tableId);
}
