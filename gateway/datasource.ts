import http from 'node:http';
import { GraphQLError } from 'graphql';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { IDENTITY_HEADER, signInternalIdentity, ErrorCode, type MeshConfig } from '../platform/index.js';
import { DATA_VERSION_HEADER } from '../products/index.js';
import type { GatewayContext } from './context.js';
import { replicaSender, type ReplicaSet } from './replicas.js';

type Fetcher = NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher'];

/**
 * What the gateway learns from each subgraph call: its latency and outcome, and the DuckDB time the subgraph reports.
 */
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
    /** Several processes serve this subgraph: balanced, retried and hedged here (see `replicaSender`). */
    replicas?: { set: ReplicaSet; hedgeMs: number },
  ) {
    const send = replicas ? replicaSender(replicas.set, lightFetch as never, replicas.hedgeMs) : lightFetch;
    const base = deadlineFetcher(
      dedup ? dedupingFetcher(timeoutMs, send as typeof lightFetch) : (send as unknown as Fetcher),
      timeoutMs,
    );
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
      throw new GraphQLError(`subgraph "${this.name}" did not answer in time`, {
        originalError: error,
        extensions: { code: ErrorCode.GATEWAY_TIMEOUT, subgraph: this.name },
      });
    }
    throw new GraphQLError(
      unavailable
        ? `subgraph "${this.name}" is unavailable`
        : `subgraph "${this.name}" failed (HTTP ${response.status})`,
      {
        originalError: error,
        extensions: {
          code: unavailable ? ErrorCode.SUBGRAPH_UNAVAILABLE : ErrorCode.SUBGRAPH_ERROR,
          subgraph: this.name,
          ...(response ? { http: { status: response.status } } : {}),
        },
      },
    );
  }

  override didReceiveResponse({
    response,
    context,
  }: {
    response: GatewayGraphQLResponse & { http?: { headers: { get(name: string): string | null } } };
    context: GatewayContext;
  }) {
    const queries = Number(response.http?.headers.get('x-mesh-duckdb-queries') ?? 0);
    const ms = Number(response.http?.headers.get('x-mesh-duckdb-ms') ?? 0);
    if (ms > 0) this.observer?.duckdb(this.name, ms / 1000);
    if (context?.stats) {
      context.stats.duckdbQueries += queries;
      context.stats.subgraphFetches[this.name] = (context.stats.subgraphFetches[this.name] ?? 0) + 1;
      const version = response.http?.headers.get(DATA_VERSION_HEADER) ?? '';
      const seen = context.stats.dataVersions[this.name];
      context.stats.dataVersions[this.name] = seen === undefined || seen === version ? version : '';
    }
    return response;
  }
}

/**
 * A subgraph call that has not answered within `ms` is abandoned: the request gets partial data and GATEWAY_TIMEOUT.
 */
function deadlineFetcher(base: Fetcher, ms: number): Fetcher {
  const call = base as unknown as (url: string, init: { signal?: AbortSignal }) => Promise<Response>;
  return (async (url: string, init: { signal?: AbortSignal }) => {
    const deadline = AbortSignal.timeout(ms);
    return call(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  }) as unknown as Fetcher;
}

/** Times every call and classifies it: a network failure or an HTTP 5xx counts against the subgraph. */
function timedFetcher(name: string, base: Fetcher, observer: FetchObserver): Fetcher {
  const call = base as unknown as (url: string, init: unknown) => Promise<Response>;
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

function dedupingFetcher(timeoutMs: number, send: typeof lightFetch): Fetcher {
  const inflight = new Map<string, Promise<LightResponse>>();
  return (async (
    url: string,
    init: { headers?: Record<string, string> | Headers; body?: string; signal?: AbortSignal },
  ) => {
    const identity =
      init.headers instanceof Headers ? init.headers.get(IDENTITY_HEADER) : init.headers?.[IDENTITY_HEADER];
    const key = `${url}\0${identity ?? ''}\0${init.body ?? ''}`;
    let pending = inflight.get(key);
    if (!pending) {
      // One caller's deadline must not cut the others' answer: the shared call has its own, each caller's applies too.
      pending = send(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    if (!init.signal) return pending;
    const signal = init.signal;
    return Promise.race([
      pending,
      new Promise<never>((_, reject) =>
        signal.aborted
          ? reject(signal.reason)
          : signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      ),
    ]);
  }) as unknown as Fetcher;
}

/** Keep-alive connections to the subgraphs: a request's fetches reuse them instead of opening their own. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });

/** The answer of `lightFetch`: what the gateway's data sources read of a Fetch API response, body already read. */
interface LightResponse {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  bodyUsed: boolean;
  headers: Headers;
  text(): Promise<string>;
  json(): Promise<unknown>;
  clone(): LightResponse;
}

/**
 * A POST to a subgraph over node:http with keep-alive, read into a string: WHATWG fetch (undici) with its web streams
 * was a fifth of the gateway's CPU per request. Aborting the signal abandons the call with the signal's reason.
 */
function lightFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string> | Headers; body?: string; signal?: AbortSignal },
): Promise<LightResponse> {
  return new Promise((resolve, reject) => {
    const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers.entries()) : (init.headers ?? {});
    const req = http.request(url, { method: init.method ?? 'POST', headers, agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
        const response: LightResponse = {
          ok: res.statusCode! >= 200 && res.statusCode! < 300,
          status: res.statusCode!,
          statusText: res.statusMessage ?? '',
          url,
          redirected: false,
          bodyUsed: false,
          headers: responseHeaders,
          text: async () => text,
          json: async () => JSON.parse(text) as unknown,
          clone: () => response,
        };
        resolve(response);
      });
    });
    req.on('error', (err) => reject(init.signal?.aborted ? init.signal.reason : err));
    req.end(init.body);
  });
}
