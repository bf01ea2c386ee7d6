import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import {
  ErrorCode,
  httpStatus,
  isMeshError,
  sendProblem,
  withinDeadline,
  type Logger,
  type Route,
} from '../../platform/index.js';
import { readParameters, type BoundEndpoint } from '../../products/index.js';
import type { GatewayContext } from '../context.js';
import { negotiate, toCsv } from './representation.js';

/** One endpoint as served: bound to the current schema, or the reason it cannot be (answered as a 503, logged). */
export type Served = { endpoint: BoundEndpoint['endpoint']; bound?: BoundEndpoint; unavailable?: string };

export interface Binding {
  endpoints: Served[];
  /** Changes whenever what an answer depends on besides data does (schema, policies, endpoints): part of every ETag. */
  fingerprint: string;
}

export interface RestRouteOptions {
  server: ApolloServer<GatewayContext>;
  context: (req: IncomingMessage) => Promise<GatewayContext>;
  /** The endpoints now served, re-bound whenever the supergraph changes, and what else their answers depend on. */
  binding: () => Binding;
  /** Seconds a client may reuse an answer that read these domains: their update frequency SLO. */
  maxAge: (domains: string[]) => number;
  deadlineMs: number;
  log: Logger;
  now?: () => Date;
}

interface Match {
  served: Served;
  params: Record<string, string>;
}

/**
 * REST resources as persisted GraphQL operations, executed by the gateway's own Apollo Server: authentication (the
 * same context), the plugins (armor, authorization and masking, usage, lineage, metrics, response cache) all run as
 * for a GraphQL request named like the endpoint. This module only translates: parameters to variables, the result to
 * a resource with HTTP semantics (status, ETag, Link, Cache-Control, CSV), errors to problem details.
 */
export function restRoute(o: RestRouteOptions): Route {
  return async (req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://x');
    const problem = (status: number, code: string, detail: string, extra: Record<string, unknown> = {}) =>
      sendProblem(res, status, { code, detail, requestId, instance: url.pathname, ...extra });
    const binding = o.binding();
    const match = find(binding.endpoints, url.pathname);
    if (!match) return problem(404, ErrorCode.NOT_FOUND, `no REST resource at ${url.pathname}`);
    const { endpoint, bound } = match.served;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return problem(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        `${req.method} is not supported: data products are read with GET`,
      );
    }
    // Who asks comes before what they asked for: an unauthenticated request learns nothing more (401 before 406).
    let ctx: GatewayContext;
    try {
      ctx = await o.context(req);
    } catch (err) {
      if (!isMeshError(err)) throw err;
      if (err.code === ErrorCode.UNAUTHENTICATED) res.setHeader('www-authenticate', 'Bearer');
      return problem(httpStatus(err.code), err.code, err.message);
    }
    const deprecation = endpoint.deprecation;
    if (deprecation) {
      res.setHeader('link', `</${endpoint.domain}/v${deprecation.successor}/openapi.json>; rel="successor-version"`);
      if (deprecation.since && deprecation.sunset) {
        res.setHeader('deprecation', `@${Math.floor(Date.parse(deprecation.since) / 1000)}`);
        res.setHeader('sunset', new Date(deprecation.sunset).toUTCString());
        if ((o.now?.() ?? new Date()) >= new Date(deprecation.sunset))
          return problem(
            410,
            ErrorCode.GONE,
            `${endpoint.path} was sunset on ${deprecation.sunset.slice(0, 10)}: use v${deprecation.successor}`,
          );
      }
    }
    if (!bound) {
      o.log.error(
        { endpoint: endpoint.name, reason: match.served.unavailable, requestId },
        'REST endpoint does not bind to the current supergraph',
      );
      // A publication can mend it (docs/rest.md): the client may try again, not in a tight loop.
      res.setHeader('retry-after', String(UNBOUND_RETRY_AFTER_SECONDS));
      return problem(
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
        `${endpoint.path} is unavailable until its operation matches the published schema`,
      );
    }
    const representation = negotiate(req.headers.accept, bound);
    if (!representation)
      return problem(
        406,
        ErrorCode.NOT_ACCEPTABLE,
        `${endpoint.path} is served as application/json${bound.kind === 'entity' ? '' : ' or text/csv'}`,
      );

    let variables: Record<string, unknown>;
    try {
      variables = readParameters(bound, match.params, url.searchParams);
    } catch (err) {
      if (!isMeshError(err)) throw err;
      return problem(
        httpStatus(err.code),
        err.code,
        err.message,
        err.details.parameter ? { parameter: err.details.parameter } : {},
      );
    }
    const headers = new HeaderMap([['content-type', 'application/json']]);
    const response = await withinDeadline(
      o.server.executeOperation(
        {
          query: endpoint.document,
          operationName: endpoint.name,
          variables,
          http: { method: 'POST', headers, search: '', body: undefined },
        },
        { contextValue: ctx },
      ),
      o.deadlineMs,
    );
    if (!response)
      return problem(504, ErrorCode.GATEWAY_TIMEOUT, `the request ran over its deadline of ${o.deadlineMs} ms`);
    if (response.body.kind !== 'single') throw new Error('an endpoint operation answered incrementally');
    // What the request cost and when to come back, as the GraphQL answer says it.
    for (const [k, v] of response.http.headers)
      if (k.startsWith('x-mesh-') || k.startsWith('ratelimit-') || k === 'retry-after') res.setHeader(k, v);
    const result = response.body.singleResult;
    const root = (result.data as Record<string, unknown> | null | undefined)?.[bound.rootKey];
    const errors = result.errors ?? [];

    if (root === null || root === undefined) {
      if (errors.length === 0) return problem(404, ErrorCode.NOT_FOUND, `nothing at ${url.pathname}`);
      const code = failureCode(errors);
      if (code === ErrorCode.INTERNAL_SERVER_ERROR)
        o.log.error({ endpoint: endpoint.name, requestId, errors }, 'REST endpoint failed');
      if (code === ErrorCode.SUBGRAPH_UNAVAILABLE) res.setHeader('retry-after', '5');
      const cost = errors.find((e) => e.extensions?.cost)?.extensions?.cost;
      return problem(
        httpStatus(code),
        code,
        code === ErrorCode.INTERNAL_SERVER_ERROR ? `internal error (request ${requestId})` : errors[0]!.message,
        { errors: errors.map((e) => partialError(e, bound.kind)), ...(cost ? { cost } : {}) },
      );
    }

    const partial = errors.map((e) => partialError(e, bound.kind));
    const governance = accessReport(result.extensions?.governance, bound);
    const body = {
      ...(bound.kind === 'list' ? listBody(root) : { data: root }),
      ...(governance ? { governance } : {}),
    };
    const versions = ctx.stats.dataVersions;
    const domains = Object.keys(versions);
    const text =
      representation === 'csv'
        ? toCsv(bound.columns, body.data as unknown[])
        : JSON.stringify(partial.length ? { ...body, errors: partial } : body);
    res.setHeader(
      'etag',
      etag(
        binding.fingerprint,
        endpoint.name,
        ctx.identity.role,
        representation,
        variables,
        versions,
        ctx.stats.subgraphFetches,
        text,
      ),
    );
    // A part missing for a passing reason (a domain down) must not be reused; a denial is as stable as the data.
    const transient = partial.some((e) => e.code !== ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
    res.setHeader(
      'cache-control',
      transient ? 'no-store' : `private, max-age=${o.maxAge(domains.length ? domains : [endpoint.domain])}`,
    );
    res.setHeader('vary', 'Authorization, Accept');
    if (bound.kind === 'list' && bound.cursorParam && 'page' in body && body.page.hasNextPage && body.page.endCursor) {
      const next = new URLSearchParams(url.searchParams);
      next.set(bound.cursorParam, body.page.endCursor);
      res.appendHeader('link', `<${url.pathname}?${next.toString()}>; rel="next"`);
    }
    if (partial.length) res.setHeader('x-mesh-errors', [...new Set(partial.map((e) => e.code))].join(', '));
    if (fresh(req.headers['if-none-match'], String(res.getHeader('etag')))) {
      res.statusCode = 304;
      return void res.end();
    }
    res.statusCode = 200;
    res.setHeader(
      'content-type',
      representation === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json',
    );
    res.end(req.method === 'HEAD' ? undefined : text);
  };
}

/** How long a client waits before asking again for an endpoint the published schema does not serve. */
const UNBOUND_RETRY_AFTER_SECONDS = 60;

/** Path templates matched segment by segment; a literal segment beats a parameter. */
function find(served: Served[], pathname: string): Match | undefined {
  const segments = pathname.replace(/\/+$/, '').split('/');
  let best: { match: Match; literals: number } | undefined;
  for (const s of served) {
    const template = s.endpoint.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    const ok = template.every((t, i) => {
      const param = /^\{(.+)\}$/.exec(t);
      if (!param) return t === segments[i] && ++literals > 0;
      try {
        params[param[1]!] = decodeURIComponent(segments[i]!);
      } catch {
        return false; // not valid percent-encoding: matches nothing, a 404
      }
      return segments[i] !== '';
    });
    if (ok && (!best || literals > best.literals)) best = { match: { served: s, params }, literals };
  }
  return best?.match;
}

/**
 * A list resource: its nodes as `data`, the connection's position as `page` (the Link header carries the next page).
 */
function listBody(connection: unknown): {
  data: unknown[];
  page: { hasNextPage: boolean; endCursor: string | null; totalCount?: number };
} {
  const c = connection as {
    edges: { node: unknown }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount?: number;
  };
  return {
    data: c.edges.map((e) => e.node),
    page: {
      hasNextPage: c.pageInfo.hasNextPage,
      endCursor: c.pageInfo.endCursor,
      ...(c.totalCount !== undefined ? { totalCount: c.totalCount } : {}),
    },
  };
}

/** A part of the resource that is missing, and why: a denied field, an unreachable domain. Paths are into `data`. */
function partialError(
  e: GraphQLFormattedError,
  kind: BoundEndpoint['kind'],
): { code: string; message: string; path?: (string | number)[] } {
  const inData = e.path?.slice(1);
  const path = kind === 'list' && inData?.[0] === 'edges' ? [inData[1]!, ...inData.slice(3)] : inData;
  return {
    code: String(e.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR),
    message: e.message,
    ...(path ? { path } : {}),
  };
}

/** The gateway's access report (which fields are tokens, which were withheld for this role), with paths into `data`. */
function accessReport(
  report: unknown,
  bound: BoundEndpoint,
): { role: string; masked: string[]; withheld: string[] } | undefined {
  if (!report || typeof report !== 'object') return undefined;
  const r = report as { role: string; masked: string[]; withheld: string[] };
  const prefix = bound.kind === 'list' ? `${bound.rootKey}.edges.node.` : `${bound.rootKey}.`;
  const relative = (p: string) => (p.startsWith(prefix) ? p.slice(prefix.length) : p);
  return { role: r.role, masked: r.masked.map(relative), withheld: r.withheld.map(relative) };
}

/** The code that explains a missing resource: the client's own mistake first, then the server's. */
function failureCode(errors: readonly GraphQLFormattedError[]): ErrorCode {
  const codes = errors.map((e) => String(e.extensions?.code ?? '')) as ErrorCode[];
  const known = codes.filter((c) => httpStatus(c) !== 500 || c === ErrorCode.INTERNAL_SERVER_ERROR);
  const client = known.find((c) => httpStatus(c) < 500);
  if (client) return client === ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE ? ErrorCode.FORBIDDEN : client;
  return known[0] ?? ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * A strong validator from what the answer was computed from: the curated version each domain served, the role (masked
 * and clear answers differ), the parameters, the representation and the schema and policy. An answer that read
 * something without a version (online features) is validated by its bytes instead.
 */
function etag(
  fingerprint: string,
  name: string,
  role: string,
  representation: string,
  variables: Record<string, unknown>,
  versions: Record<string, string>,
  fetched: Record<string, number>,
  text: string,
): string {
  const versioned =
    Object.keys(versions).length > 0 &&
    Object.values(versions).every((v) => v !== '') &&
    Object.keys(fetched).every((s) => versions[s]);
  const h = createHash('sha256').update(
    `${fingerprint}\u0000${name}\u0000${role}\u0000${representation}\u0000${canonical(variables)}\u0000`,
  );
  if (versioned) h.update(canonical(versions));
  else h.update(text);
  return `"${h.digest('base64url').slice(0, 27)}"`;
}

function fresh(ifNoneMatch: string | undefined, tag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === tag);
}

function canonical(o: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

/**
 * The caller's request id when it is a sane token, else a new one: it ties the client's report to the gateway's log.
 */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{8,128}$/.test(given) ? given : randomUUID();
}
