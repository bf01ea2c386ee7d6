import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloGateway } from '@apollo/gateway';
import type { GraphQLSchema } from 'graphql';
import {
  listDomains,
  listen,
  graphqlRoute,
  CostBudgets,
  HeavyPool,
  sendJson,
  Metrics,
  MeshError,
  ErrorCode,
  type Identity,
  type Listening,
  type ProcessStates,
  type Route,
} from '../platform/index.js';
import { currentDataVersion, jobMetricsText, PUBLISHED_SUPERGRAPH_KEY } from '../products/index.js';
import {
  loadRoles,
  knownRoles,
  loadSupergraphConfig,
  reversibleKinds,
  supergraphPiiFields,
  UsageRecorder,
} from '../governance/index.js';
import { OperationLineage, loadFieldLineage, type MeshPlatform } from '../lineage/index.js';
import { observeMesh, type MeshObservation } from '../observability/index.js';
import { gatewayContext, type GatewayContext } from './context.js';
import { MeshDataSource } from './datasource.js';
import { ReplicaSet } from './replicas.js';
import { followSupergraph, registrySupergraph, storeSupergraph, supergraphFile } from './supergraph.js';
import { gatewayPlugins, type Governance } from './plugins/index.js';
import { costModel, type CostModel } from './cost.js';
import { restApi } from './rest/api.js';
import type { PiiOwners } from './plugins/useAuthorization.js';

export interface GatewayOptions {
  /** A composed supergraph file to serve and follow; without it, the one the schema registry published. */
  supergraphFile?: string;
  port: number;
  /** Every request is treated as admin: local experiments only, refused in production. */
  open?: boolean;
  /** In-flight deduplication of identical subgraph fetches (on by default). */
  dedup?: boolean;
  /** Governance off: the plain gateway, for benchmarks only. */
  ungoverned?: boolean;
  /** The response cache (on by default when MESH_RESPONSE_CACHE_ENTRIES > 0): off to measure without it. */
  cache?: boolean;
  /** More routes on the gateway's port, mounted by whoever starts it (the console). */
  routes?: (gateway: GatewayServices) => Record<string, Route>;
  /**
   * The supervised processes serving the subgraphs, when they run apart from the gateway: shown in /health and
   * /metrics.
   */
  processes?: ProcessStates;
  /**
   * Where the processes of each subgraph listen on this host, by subgraph name, in place of the supergraph's routing
   * URLs. Several processes of one subgraph are replicas: the gateway balances over them itself, retries a failed
   * connection on another and hedges a slow call (MESH_SUBGRAPH_HEDGE_MS).
   */
  subgraphUrls?: Map<string, string[]>;
}

/** What the gateway offers routes mounted beside it. */
export interface GatewayServices extends MeshObservation {
  /** The gateway's identity rules: a verified bearer token with a known role (throws a MeshError otherwise). */
  identify(req: IncomingMessage): Promise<Identity>;
  processes?: ProcessStates;
}

export interface RunningGateway extends Listening {
  metrics: Metrics;
  /** Operation usage for schema checks (absent on the ungoverned gateway); flushed every few seconds and on close. */
  usage?: UsageRecorder;
  /** Field-level lineage of served operations (absent on the ungoverned gateway). */
  lineage?: OperationLineage;
  /** Every data product's SLOs, evaluated continuously from this gateway's fetches and the curated manifests. */
  slo: MeshObservation['slo'];
}

export async function startGateway(platform: MeshPlatform, options: GatewayOptions): Promise<RunningGateway> {
  const production = platform.config.env === 'production';
  if (options.open && production) throw new MeshError(ErrorCode.CONFIG_INVALID, 'open mode is refused in production');
  if (options.supergraphFile !== undefined && !fs.existsSync(options.supergraphFile))
    throw new MeshError(ErrorCode.NOT_FOUND, `no supergraph at ${options.supergraphFile}: run npx mesh compose`);
  if (options.open)
    platform.log.warn('OPEN MODE: every request is treated as admin, PII in clear. Never use this with real data.');
  const policy = loadRoles();
  const domains = listDomains(platform.config.domainsDir);
  const roles = knownRoles(
    policy,
    domains.map((d) => d.name),
  );
  const reversible = reversibleKinds(domains);
  const state: {
    schema?: GraphQLSchema;
    pii: PiiOwners;
    cost?: CostModel;
    supergraph?: { version: string; loadedAt: number };
  } = { pii: new Map() };
  const onLoad = (sdl: string) => {
    state.supergraph = { version: createHash('sha256').update(sdl).digest('hex').slice(0, 12), loadedAt: Date.now() };
    state.cost = costModel(sdl);
    state.pii = new Map(
      supergraphPiiFields(sdl).map((f) => [
        `${f.type}.${f.field}`,
        { domain: f.subgraph, kind: f.kind, reversible: reversible(f.subgraph, f.kind) },
      ]),
    );
  };
  const metrics = new Metrics('gateway', { allowedClients: platform.config.metrics.clients });
  const gateway = new ApolloGateway({
    supergraphSdl:
      options.supergraphFile !== undefined
        ? supergraphFile(options.supergraphFile, platform.log, onLoad)
        : followSupergraph(
            // The registry's head in the control plane; the store's copy where this control plane has none (a
            // gateway of another machine sharing only the store, or a registry from before the control plane).
            registrySupergraph(platform, storeSupergraph(platform.store, PUBLISHED_SUPERGRAPH_KEY)),
            platform.log,
            onLoad,
            {
              pollMs: platform.config.gateway.supergraphPollMs,
              jitterMs: platform.config.gateway.supergraphPollMs / 2,
            },
          ),
    buildService: ({ name, url }) => {
      const replicas = options.subgraphUrls?.get(name);
      return new MeshDataSource(
        name,
        replicas?.[0] ?? url!,
        platform.config.auth,
        options.dedup ?? true,
        {
          fetched: (subgraph, seconds, ok) => {
            metrics.subgraphFetches.inc({ subgraph, outcome: ok ? 'ok' : 'error' });
            metrics.subgraphFetchDuration.observe({ subgraph }, seconds);
          },
          duckdb: (subgraph, seconds) => metrics.subgraphDuckdbSeconds.inc({ subgraph }, seconds),
        },
        platform.config.timeouts.subgraphMs,
        replicas && replicas.length > 1
          ? { set: new ReplicaSet(replicas), hedgeMs: platform.config.timeouts.hedgeMs }
          : undefined,
      );
    },
  });
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    state.schema = apiSchema;
  });
  const observation = observeMesh(platform, metrics, domains);
  if (options.processes) metrics.observeProcesses(() => options.processes!.states());
  metrics.observeSupergraph(() => state.supergraph);
  const fields = loadFieldLineage(loadSupergraphConfig(platform.config.gateway.config));
  const governance: Governance | undefined = options.ungoverned
    ? undefined
    : {
        policy,
        usage: new UsageRecorder(platform.store, platform.log),
        lineage: new OperationLineage(platform.lineage, fields),
      };
  const version =
    options.ungoverned || options.cache === false || platform.config.responseCacheEntries === 0
      ? undefined
      : dataVersionWatch(
          platform,
          domains.map((d) => d.name),
        );
  const cache = version && {
    maxEntries: platform.config.responseCacheEntries,
    version: version.current,
    versioned: new Set(domains.map((d) => d.name)),
  };
  const limits = platform.config.admission;
  const admission = options.ungoverned
    ? undefined
    : {
        state,
        budgets: limits.capacity > 0 ? new CostBudgets(limits.capacity, limits.refillPerSecond) : undefined,
        pool: new HeavyPool(limits.heavyConcurrency, limits.heavyWaitMs),
        heavyCost: limits.heavyCost,
      };
  if (admission) metrics.observeHeavyPool(() => admission.pool.load());
  const { plugins, validationRules, parseOptions } = gatewayPlugins({
    metrics,
    production,
    state,
    governance,
    cache,
    admission,
  });
  const server = new ApolloServer({
    gateway,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    validationRules,
    parseOptions,
    plugins,
  });
  await server.start();
  const open = options.open === true || options.ungoverned === true;
  const context = (req: IncomingMessage) => gatewayContext(req, platform.config.auth, roles, open);
  const listening = await listen(
    {
      '/graphql': graphqlRoute(server, context, undefined, {
        log: platform.log,
        maxBodyBytes: platform.config.maxBodyBytes,
        deadlineMs: platform.config.timeouts.requestMs,
      }),
      // REST resources run through the same server, context and plugins as GraphQL: one enforcement path.
      ...restApi({
        domains,
        server,
        context,
        state,
        policy,
        roles,
        fields,
        deadlineMs: platform.config.timeouts.requestMs,
        log: platform.log,
      }),
      ...options.routes?.({
        ...observation,
        processes: options.processes,
        identify: async (req) => (await context(req)).identity,
      }),
      // The gateway itself is healthy while it has a schema; a subgraph process that is down degrades answers, not the
      // gateway.
      // Open to probes: the state of each process, and its pid, address and last exit only for operators and admins.
      '/health': async (req, res) => {
        const processes = options.processes?.states();
        const degraded = processes?.some((p) => p.phase !== 'up');
        const internals = processes && (await readsInternals(req, context, platform.config.metrics.token));
        sendJson(res, state.schema ? 200 : 503, {
          status: state.schema ? (degraded ? 'degraded' : 'ok') : 'loading',
          ...(state.supergraph
            ? {
                supergraph: {
                  version: state.supergraph.version,
                  ageSeconds: Math.round((Date.now() - state.supergraph.loadedAt) / 1000),
                },
              }
            : {}),
          ...(processes
            ? {
                processes: internals
                  ? processes
                  : processes.map(({ name, phase, restarts }) => ({ name, phase, restarts })),
              }
            : {}),
        });
      },
      // Batch jobs have ended before any scrape: their last runs are exposed here.
      '/metrics': metrics.route(() => jobMetricsText(platform.store), platform.config.metrics.token),
    },
    options.port,
    { log: platform.log, host: platform.config.httpHost },
  );
  return {
    ...listening,
    metrics,
    usage: governance?.usage,
    lineage: governance?.lineage,
    slo: observation.slo,
    close: async () => {
      version?.stop();
      await listening.close();
      await observation.close();
      await server.stop();
      await governance?.usage.close();
      governance?.lineage.close();
      await platform.lineage.emitter.flush();
    },
  };
}

/** The current data version, re-read every 2 s (as often as subgraphs look for new versions); undefined until read. */
function dataVersionWatch(
  platform: MeshPlatform,
  domains: string[],
): { current: () => string | undefined; stop(): void } {
  let current: string | undefined;
  const read = () =>
    currentDataVersion(platform, domains).then(
      (v) => void (current = v),
      (err: unknown) => {
        // Unknown is safe: nothing is cached or served from the cache until the version is known again.
        current = undefined;
        platform.log.warn({ err }, 'data version unreadable: response cache paused');
      },
    );
  void read();
  const timer = setInterval(() => void read(), 2_000);
  timer.unref();
  return { current: () => current, stop: () => clearInterval(timer) };
}

/** Roles that may see the platform's internals (process ids, addresses, exits) where others see only states. */
const INTERNALS_ROLES = new Set(['admin', 'operator']);

/** Whether the caller may see internals: an operator's or admin's token, or the metrics scrape token. */
async function readsInternals(
  req: IncomingMessage,
  context: (req: IncomingMessage) => Promise<GatewayContext>,
  metricsToken: string | undefined,
): Promise<boolean> {
  if (!req.headers.authorization) return false;
  if (metricsToken && req.headers.authorization === `Bearer ${metricsToken}`) return true;
  return context(req).then(
    (ctx) => INTERNALS_ROLES.has(ctx.identity.role),
    () => false,
  );
}
