import fs from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLSchema } from 'graphql';
import type { Platform } from '../platform/context.js';
import { listDomains, type DomainInfo } from '../platform/domains.js';
import { listen, graphqlRoute, sendJson, type Listening } from '../platform/http.js';
import { Metrics } from '../platform/metrics.js';
import { MeshError, ErrorCode } from '../platform/errors.js';
import { loadRoles, knownRoles } from '../governance/access.js';
import { supergraphPiiFields } from '../governance/composition.js';
import { gatewayContext, type GatewayContext } from './context.js';
import { MeshDataSource } from './datasource.js';
import { supergraphFile } from './supergraph.js';
import { useAuthorization, type PiiOwners } from './plugins/useAuthorization.js';
import { useFetchStats } from './plugins/useFetchStats.js';
import { useSubgraphErrors } from './plugins/useSubgraphErrors.js';
import { useUsageRecording } from './plugins/useUsageRecording.js';
import { UsageRecorder } from '../governance/schema-registry/usage.js';
import { useLineage } from './plugins/useLineage.js';
import { OperationLineage } from '../lineage/operations.js';
import { loadFieldLineage } from '../lineage/fields.js';
import { loadSupergraphConfig } from '../governance/composition.js';
import { useAccessReport } from './plugins/useAccessReport.js';
import { loadSlos } from '../governance/slo.js';
import { SloEvaluator } from '../governance/sloStatus.js';
import { CostCache } from '../governance/cost.js';
import { currentManifest } from '../jobs/pipeline/run.js';
import { createOnlineStore } from '../feature-subgraph/online/index.js';
import { consoleRoutes } from '../console/server.js';
import { jobMetricsText } from '../platform/jobMetrics.js';

export interface GatewayOptions {
  supergraphFile: string;
  port: number;
  /** Every request is treated as admin: local experiments only, refused in production. */
  open?: boolean;
  /** In-flight deduplication of identical subgraph fetches (on by default). */
  dedup?: boolean;
  /** Governance off: the plain gateway, for benchmarks only. */
  ungoverned?: boolean;
}

export interface RunningGateway extends Listening {
  metrics: Metrics;
  /** Operation usage for schema checks (absent on the ungoverned gateway); flushed every few seconds and on close. */
  usage?: UsageRecorder;
  /** Field-level lineage of served operations (absent on the ungoverned gateway). */
  lineage?: OperationLineage;
  /** Every data product's SLOs, evaluated continuously from this gateway's fetches and the curated manifests. */
  slo: SloEvaluator;
}

export async function startGateway(platform: Platform, options: GatewayOptions): Promise<RunningGateway> {
  if (options.open && platform.config.env === 'production') throw new MeshError(ErrorCode.CONFIG_INVALID, 'open mode is refused in production');
  if (!fs.existsSync(options.supergraphFile)) throw new MeshError(ErrorCode.NOT_FOUND, `no supergraph at ${options.supergraphFile}: run npx mesh compose`);
  if (options.open) platform.log.warn('OPEN MODE: every request is treated as admin, PII in clear. Never use this with real data.');
  const production = platform.config.env === 'production';
  const policy = loadRoles();
  const domains = listDomains(platform.config.domainsDir);
  const roles = knownRoles(policy, domains.map((d) => d.name));
  const state: { schema?: GraphQLSchema; pii: PiiOwners; loaded: boolean } = { pii: new Map(), loaded: false };
  const onLoad = (sdl: string) => {
    state.pii = new Map(supergraphPiiFields(sdl).map((f) => [`${f.type}.${f.field}`, f.subgraph]));
    state.loaded = true;
  };
  const metrics = new Metrics('gateway');
  metrics.observeLineage(() => platform.lineage.emitter.snapshot());
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFile(options.supergraphFile, platform.log, onLoad),
    buildService: ({ name, url }) =>
      new MeshDataSource(name, url!, platform.config.auth, options.dedup ?? true, {
        fetched: (subgraph, seconds, ok) => {
          metrics.subgraphFetches.inc({ subgraph, outcome: ok ? 'ok' : 'error' });
          metrics.subgraphFetchDuration.observe({ subgraph }, seconds);
        },
        duckdb: (subgraph, seconds) => metrics.subgraphDuckdbSeconds.inc({ subgraph }, seconds),
      }),
  });
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    state.schema = apiSchema;
  });
  const slo = new SloEvaluator(loadSlos(domains), () => metrics.fetchCounts(), () => dataAgeHours(platform, domains), { intervalMs: platform.config.sloIntervalSeconds * 1000 }).start();
  const cost = new CostCache(platform, () => createOnlineStore(platform.config.online), { queryLoad: () => metrics.queryLoad() });
  metrics.observeSlo(() => slo.status());
  metrics.observeCost(() => cost.peek());
  const armor = new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 20 },
    maxTokens: { n: 2000 },
    maxDirectives: { n: 20 },
    costLimit: { maxCost: 10_000 },
    blockFieldSuggestion: { enabled: production },
  }).protect(); // its types come from the CommonJS build of @apollo/server; the plugins are the same objects
  const usage = options.ungoverned ? undefined : new UsageRecorder(platform.store, platform.log);
  const lineage = options.ungoverned ? undefined : new OperationLineage(platform.lineage, loadFieldLineage(loadSupergraphConfig(platform.config.gateway.config)));
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    validationRules: armor.validationRules,
    plugins: [
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      metrics.requestPlugin<GatewayContext>((c) => c.client),
      useFetchStats(metrics),
      // Before authorization, which prunes the document: usage is what the client asked for.
      ...(usage ? [useUsageRecording(usage)] : []),
      ...(lineage ? [useLineage(lineage, policy, state)] : []),
      // Also before authorization: the report names the fields authorization is about to withhold.
      ...(options.ungoverned ? [] : [useAccessReport(policy, state), useAuthorization(policy, state)]),
      useSubgraphErrors(),
    ],
  });
  await server.start();
  const open = options.open === true || options.ungoverned === true;
  const listening = await listen(
    {
      '/graphql': graphqlRoute(server, (req) => gatewayContext(req, platform.config.auth, roles, open)),
      ...consoleRoutes(platform, { identify: async (req) => (await gatewayContext(req, platform.config.auth, roles, open)).identity, slo, cost }),
      '/health': (_req, res) => sendJson(res, state.schema ? 200 : 503, { status: state.schema ? 'ok' : 'loading' }),
      // Batch jobs have ended before any scrape: their last runs are exposed here.
      '/metrics': metrics.route(() => jobMetricsText(platform.store)),
    },
    options.port,
  );
  return {
    ...listening,
    metrics,
    usage,
    lineage,
    slo,
    close: async () => {
      slo.stop();
      await listening.close();
      await cost.close();
      await server.stop();
      await usage?.close();
      lineage?.close();
      await platform.lineage.emitter.flush();
    },
  };
}

/** Hours since the extraction time of each domain's current curated version (null before its first publication). */
async function dataAgeHours(platform: Platform, domains: DomainInfo[]): Promise<Map<string, number | null>> {
  const ages = await Promise.all(
    domains.map(async (d): Promise<[string, number | null]> => {
      const m = await currentManifest(platform, d.name);
      return [d.name, m ? (Date.now() - new Date(m.asOf).getTime()) / 3_600_000 : null];
    }),
  );
  return new Map(ages);
}
