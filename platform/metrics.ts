import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ProcessState } from './supervisor.js';
import type { Route } from './http.js';

/**
 * Cumulative gateway → subgraph fetch counts and latency buckets per subgraph, as recorded here and sampled by SLO
 * evaluation.
 */
export type FetchCounts = Record<
  string,
  {
    total: number;
    errors: number /** cumulative histogram buckets, ascending `le` (seconds) */;
    buckets: { le: number; count: number }[];
  }
>;

/**
 * Label values clients choose (operation names, client names) are bounded: a value is kept as itself only when it is
 * allowed, or among the first `limit` seen, and clean; everything else is `other`. A stream of made-up names cannot
 * grow /metrics without end.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(
    private readonly limit: number,
    private readonly allowed: readonly string[] = [],
  ) {}

  of(value: string | undefined): string {
    if (value === undefined || value === '') return 'anonymous';
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) return 'other';
    if (this.allowed.includes(value) || this.seen.has(value)) return value;
    if (this.allowed.length > 0 || this.seen.size >= this.limit) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** One Prometheus registry per server process component, with the metrics every component shares. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'client' | 'status'>;
  readonly duration: Histogram<'operation' | 'client'>;
  /** Which subgraphs each operation calls, and how often: a plan that fans out shows here first. */
  readonly operationFetches: Counter<'operation' | 'subgraph'>;
  readonly duckdbQueries: Counter;
  readonly responseCache: Counter;
  /**
   * Gateway → subgraph calls: what the domains' availability and latency SLOs are measured on (a down subgraph cannot
   * count its own failures).
   */
  readonly subgraphFetches: Counter<'subgraph' | 'outcome'>;
  readonly subgraphFetchDuration: Histogram<'subgraph'>;
  /** DuckDB time subgraphs spent on the gateway's calls (they report it per response): each domain's query load. */
  readonly subgraphDuckdbSeconds: Counter<'subgraph'>;
  /** DuckDB statements timed where they run (subgraphs). */
  readonly duckdbDuration: Histogram;
  /** Keys per DataLoader batch of the domain resolvers: how well N+1 lookups collapse. */
  readonly loaderBatchKeys: Histogram;
  /** Admission control: each request's estimated cost, and the requests refused (budget spent, heavy pool full). */
  readonly requestCost: Histogram;
  readonly throttled: Counter<'reason'>;

  /** Operations and clients as label values, bounded. */
  readonly operations: BoundedLabel;
  readonly clients: BoundedLabel;

  constructor(
    readonly component: string,
    labels: { operations?: number; clients?: number; allowedClients?: readonly string[] } = {},
  ) {
    this.operations = new BoundedLabel(labels.operations ?? 200);
    this.clients = new BoundedLabel(labels.clients ?? 20, labels.allowedClients);
    this.registry.setDefaultLabels({ component });
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'mesh_graphql_requests_total',
      help: 'GraphQL requests by operation, client and outcome',
      labelNames: ['operation', 'client', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'mesh_graphql_request_duration_seconds',
      help: 'GraphQL request latency',
      labelNames: ['operation', 'client'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.operationFetches = new Counter({
      name: 'mesh_operation_subgraph_fetches_total',
      help: 'Subgraph fetches made for each operation',
      labelNames: ['operation', 'subgraph'],
      registers: [this.registry],
    });
    this.responseCache = new Counter({
      name: 'mesh_response_cache_requests_total',
      help: 'Gateway response cache lookups and stores by outcome (hit, miss, stored, uncacheable)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.duckdbQueries = new Counter({
      name: 'mesh_duckdb_queries_total',
      help: 'DuckDB statements run while serving',
      registers: [this.registry],
    });
    this.subgraphFetches = new Counter({
      name: 'mesh_subgraph_fetches_total',
      help: 'Gateway calls to subgraphs by outcome (error: network failure or HTTP 5xx)',
      labelNames: ['subgraph', 'outcome'],
      registers: [this.registry],
    });
    this.subgraphDuckdbSeconds = new Counter({
      name: 'mesh_subgraph_duckdb_seconds_total',
      help: 'DuckDB seconds subgraphs report for the calls the gateway made to them',
      labelNames: ['subgraph'],
      registers: [this.registry],
    });
    this.duckdbDuration = new Histogram({
      name: 'mesh_duckdb_query_duration_seconds',
      help: 'Latency of DuckDB statements run while serving',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    this.loaderBatchKeys = new Histogram({
      name: 'mesh_dataloader_batch_keys',
      help: 'Keys answered by one query of a DataLoader batch',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
      registers: [this.registry],
    });
    this.requestCost = new Histogram({
      name: 'mesh_request_cost_points',
      help: 'Estimated cost of admitted and refused requests, in budget points',
      buckets: [1, 10, 50, 100, 300, 1000, 3000, 10000],
      registers: [this.registry],
    });
    this.throttled = new Counter({
      name: 'mesh_requests_throttled_total',
      help: "Requests refused with 429: the caller's budget was spent (budget), or the heavy-work pool was full (pool)",
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.subgraphFetchDuration = new Histogram({
      name: 'mesh_subgraph_fetch_duration_seconds',
      help: 'Latency of gateway calls to subgraphs',
      labelNames: ['subgraph'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  /** Lineage delivery per transport (sent, spooled for later, resent) and what waits in memory, read at scrape time. */
  observeLineage(
    snapshot: () => {
      sent: Record<string, number>;
      spooled: Record<string, number>;
      resent: Record<string, number>;
      queued: number;
    },
  ): void {
    new Gauge({
      name: 'mesh_lineage_events',
      help: 'OpenLineage events by transport and outcome since start (queued: waiting in memory)',
      labelNames: ['transport', 'outcome'],
      registers: [this.registry],
      collect() {
        const s = snapshot();
        this.reset();
        for (const outcome of ['sent', 'spooled', 'resent'] as const)
          for (const [transport, n] of Object.entries(s[outcome])) this.set({ transport, outcome }, n);
        this.set({ transport: 'all', outcome: 'queued' }, s.queued);
      },
    });
  }

  /** Heavy work running and waiting for a slot of the pool, read at scrape time. */
  observeHeavyPool(load: () => { running: number; waiting: number }): void {
    new Gauge({
      name: 'mesh_heavy_requests',
      help: 'Heavy requests (analytical fields, large Feast reads) running in the bounded pool, and waiting for it',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const l = load();
        this.set({ state: 'running' }, l.running);
        this.set({ state: 'waiting' }, l.waiting);
      },
    });
  }

  /** The supergraph a gateway serves: its version (a label) and when it was loaded, read at scrape time. */
  observeSupergraph(loaded: () => { version: string; loadedAt: number } | undefined): void {
    new Gauge({
      name: 'mesh_gateway_supergraph_loaded_timestamp_seconds',
      help: 'When the supergraph this gateway serves was loaded, by its version (the first 12 hex of its SHA-256)',
      labelNames: ['version'],
      registers: [this.registry],
      collect() {
        const l = loaded();
        this.reset();
        if (l) this.set({ version: l.version }, l.loadedAt / 1000);
      },
    });
  }

  /** Supervised processes: whether each is serving and how often it was restarted, read at scrape time. */
  observeProcesses(states: () => ProcessState[]): void {
    new Gauge({
      name: 'mesh_process_up',
      help: 'Whether a supervised mesh process (domain subgraph, feature or metadata server) is serving (1) or not (0)',
      labelNames: ['process'],
      registers: [this.registry],
      collect() {
        for (const p of states()) this.set({ process: p.name }, p.phase === 'up' ? 1 : 0);
      },
    });
    new Counter({
      name: 'mesh_process_restarts_total',
      help: 'Restarts of a supervised mesh process after it exited',
      labelNames: ['process'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of states()) this.inc({ process: p.name }, p.restarts);
      },
    });
  }

  /** The age of a data product's current curated version on the data clock, read at scrape time (freshness SLOs). */
  observeFreshness(
    domain: string,
    dataProduct: string,
    asOf: () => Date | undefined,
    now: () => number = Date.now,
  ): void {
    new Gauge({
      name: 'mesh_data_product_age_seconds',
      help: "Seconds since the extraction time of the data product's current curated version",
      labelNames: ['domain', 'data_product'],
      registers: [this.registry],
      collect() {
        const t = asOf();
        if (t) this.set({ domain, data_product: dataProduct }, (now() - t.getTime()) / 1000);
      },
    });
  }

  /**
   * Requests, errors and latency per operation and client, for any Apollo Server of the platform (gateway, subgraphs).
   */
  requestPlugin<C extends BaseContext>(client: (context: C) => string): ApolloServerPlugin<C> {
    const m = this;
    return {
      async requestDidStart(rc) {
        const end = m.duration.startTimer();
        return {
          async willSendResponse(ctx) {
            const operation = m.operations.of(ctx.operationName ?? undefined);
            const failed =
              ctx.response.body.kind === 'single' && (ctx.response.body.singleResult.errors?.length ?? 0) > 0;
            const c = m.clients.of(client(rc.contextValue));
            end({ operation, client: c });
            m.requests.inc({ operation, client: c, status: failed ? 'error' : 'ok' });
          },
        };
      },
    };
  }

  /**
   * Gateway calls and the DuckDB seconds they cost, per subgraph, since this process started: each domain's query load.
   */
  async queryLoad(): Promise<Record<string, { fetches: number; duckdbSeconds: number }>> {
    const out: Record<string, { fetches: number; duckdbSeconds: number }> = {};
    for (const v of (await this.subgraphFetches.get()).values)
      (out[String(v.labels.subgraph)] ??= { fetches: 0, duckdbSeconds: 0 }).fetches += v.value;
    for (const v of (await this.subgraphDuckdbSeconds.get()).values)
      (out[String(v.labels.subgraph)] ??= { fetches: 0, duckdbSeconds: 0 }).duckdbSeconds += v.value;
    return out;
  }

  /** Cumulative subgraph fetch counts and latency buckets, as the SLO evaluator samples them. */
  async fetchCounts(): Promise<FetchCounts> {
    const out: FetchCounts = {};
    const entry = (subgraph: string) => (out[subgraph] ??= { total: 0, errors: 0, buckets: [] });
    for (const v of (await this.subgraphFetches.get()).values) {
      const e = entry(String(v.labels.subgraph));
      e.total += v.value;
      if (v.labels.outcome === 'error') e.errors += v.value;
    }
    for (const v of (await this.subgraphFetchDuration.get()).values) {
      if (v.metricName !== 'mesh_subgraph_fetch_duration_seconds_bucket') continue;
      const le = (v.labels as { le?: string | number }).le;
      entry(String(v.labels.subgraph)).buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: v.value });
    }
    for (const e of Object.values(out)) e.buckets.sort((a, b) => a.le - b.le);
    return out;
  }

  /** The exposition of this registry, followed by `extra` (other families, e.g. batch jobs' last runs). */
  route(extra?: () => Promise<string>, token?: string): Route {
    return async (req, res) => {
      // In production a scrape may be required to present a token (MESH_METRICS_TOKEN), like Prometheus' bearer_token.
      if (token && req.headers.authorization !== `Bearer ${token}`) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Bearer');
        return void res.end();
      }
      res.setHeader('content-type', this.registry.contentType);
      res.end((await this.registry.metrics()) + (extra ? await extra() : ''));
    };
  }
}
