import { GraphQLError } from 'graphql';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { IDENTITY_HEADER, signInternalIdentity, ErrorCode, type MeshConfig } from '../platform/index.js';
import type { GatewayContext } from './context.js';

type Fetcher = NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher'];

/** What the gateway learns from each subgraph call: its latency and outcome, and the DuckDB time the subgraph reports. */
export interface FetchObserver {
  fetched(subgraph: string, seconds: number, ok: boolean): void;
  duckdb(subgraph: string, seconds: number): void;
}

/**
 * Calls a subgraph with the caller's identity signed by the gateway, deduplicating identical in-flight fetches
 * (same subgraph, document, variables and identity), and adds up the DuckDB queries subgraphs report.
 */
export class MeshDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    readonly name: string,
    url: string,
    private readonly auth: MeshConfig['auth'],
    dedup: boolean,
    private readonly observer?: FetchObserver,
    timeoutMs = 10_000,
  ) {
    const base = deadlineFetcher(dedup ? dedupingFetcher() : undefined, timeoutMs);
    super({ url, fetcher: observer ? timedFetcher(name, base, observer) : base });
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    if (!context?.identity) return;
    // Signed once per request and subgraph: each identity is good for its own subgraph only.
    const tokens = (context.identityTokens ??= {});
    tokens[this.name] ??= await signInternalIdentity(context.identity, this.auth, this.name);
    request.http?.headers.set(IDENTITY_HEADER, tokens[this.name]);
  }

  /** Network and HTTP failures name the subgraph, so a partial answer says what is missing and why. */
  override didEncounterError(error: Error, _req: unknown, response?: { status: number }): never {
    if (error instanceof GraphQLError && error.extensions.subgraph) throw error;
    const unavailable = response === undefined;
    if (unavailable && /timeout|aborted/i.test(`${error.name} ${error.message}`)) {
      throw new GraphQLError(`subgraph "${this.name}" did not answer in time`, { originalError: error, extensions: { code: ErrorCode.GATEWAY_TIMEOUT, subgraph: this.name } });
    }
    throw new GraphQLError(unavailable ? `subgraph "${this.name}" is unavailable` : `subgraph "${this.name}" failed (HTTP ${response.status})`, {
      originalError: error,
      extensions: { code: unavailable ? ErrorCode.SUBGRAPH_UNAVAILABLE : ErrorCode.SUBGRAPH_ERROR, subgraph: this.name, ...(response ? { http: { status: response.status } } : {}) },
    });
  }

  override didReceiveResponse({ response, context }: { response: GatewayGraphQLResponse & { http?: { headers: { get(name: string): string | null } } }; context: GatewayContext }) {
    const queries = Number(response.http?.headers.get('x-mesh-duckdb-queries') ?? 0);
    const ms = Number(response.http?.headers.get('x-mesh-duckdb-ms') ?? 0);
    if (ms > 0) this.observer?.duckdb(this.name, ms / 1000);
    if (context?.stats) {
      context.stats.duckdbQueries += queries;
      context.stats.subgraphFetches[this.name] = (context.stats.subgraphFetches[this.name] ?? 0) + 1;
    }
    return response;
  }
}

/** A subgraph call that has not answered within `ms` is abandoned: the request gets partial data and GATEWAY_TIMEOUT. */
function deadlineFetcher(base: Fetcher | undefined, ms: number): Fetcher {
  const call = (base ?? fetch) as unknown as (url: string, init: { signal?: AbortSignal }) => Promise<Response>;
  return (async (url: string, init: { signal?: AbortSignal }) => {
    const deadline = AbortSignal.timeout(ms);
    return call(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  }) as unknown as Fetcher;
}

/** Times every call and classifies it: a network failure or an HTTP 5xx counts against the subgraph. */
function timedFetcher(name: string, base: Fetcher | undefined, observer: FetchObserver): Fetcher {
  const call = (base ?? fetch) as unknown as (url: string, init: unknown) => Promise<Response>;
  return (async (url: string, init: unknown) => {
    const started = process.hrtime.bigint();
    try {
      const res = await call(url, init);
      observer.fetched(name, Number(process.hrtime.bigint() - started) / 1e9, res.status < 500);
      return res;
    } catch (err) {
      observer.fetched(name, Number(process.hrtime.bigint() - started) / 1e9, false);
      throw err;
    }
  }) as unknown as Fetcher;
}

function dedupingFetcher(): Fetcher {
  const inflight = new Map<string, Promise<{ status: number; headers: [string, string][]; body: string }>>();
  return (async (url: string, init: { method?: string; headers?: Record<string, string> | Headers; body?: string }) => {
    const headers = new Headers(init.headers as Record<string, string>);
    const key = `${url}\0${headers.get(IDENTITY_HEADER) ?? ''}\0${init.body ?? ''}`;
    let pending = inflight.get(key);
    if (!pending) {
      pending = fetch(url, init as RequestInit)
        .then(async (res) => ({ status: res.status, headers: [...res.headers.entries()], body: await res.text() }))
        .finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    const shared = await pending;
    return new Response(shared.body, { status: shared.status, headers: shared.headers });
  }) as unknown as Fetcher;
}
