import { createHash, randomUUID } from 'node:crypto';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { isMeshError, httpStatus, ErrorCode, MeshError } from './errors.js';
import type { Logger } from './log.js';

/**
 * Transport stays outside the GraphQL core: a plain node:http server routing to Apollo's framework-neutral request API.
 */

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Listening {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Routes by exact path; a key ending in `/*` serves everything under its prefix (longest prefix wins). Nothing a route
 * throws, at once or later, reaches the process: the client gets a 500 problem without details, the log gets the
 * error. Errors outside GraphQL are RFC 9457 problems, one shape on every server (GraphQL keeps GraphQL's own).
 */
export async function listen(
  routes: Record<string, Route>,
  port: number,
  options: { host?: string; log?: Logger } = {},
): Promise<Listening> {
  const host = options.host ?? '127.0.0.1';
  const prefixes = Object.keys(routes)
    .filter((k) => k.endsWith('/*'))
    .sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      decodeURI(path);
    } catch {
      return sendProblem(res, 400, {
        code: ErrorCode.BAD_USER_INPUT,
        detail: 'the request path is not valid percent-encoding',
      });
    }
    const route = Object.hasOwn(routes, path)
      ? routes[path]
      : routes[prefixes.find((p) => path.startsWith(p.slice(0, -1)) || path === p.slice(0, -2)) ?? ''];
    if (!route) return sendProblem(res, 404, { code: ErrorCode.NOT_FOUND, detail: `no route ${path}` });
    // then(): a route that throws before returning a promise is caught here too, not by the process.
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        const requestId = randomUUID();
        options.log?.error({ err, method: req.method, path, requestId }, 'route failed');
        if (!res.headersSent)
          sendProblem(res, 500, {
            code: ErrorCode.INTERNAL_SERVER_ERROR,
            detail: `internal server error (request ${requestId})`,
            requestId,
          });
        else res.end();
      });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * POST/GET /graphql → Apollo Server. A context factory or a body that fails with a MeshError (no token, a body over the
 * limit) answers with that error's HTTP status.
 */
export function graphqlRoute<C extends BaseContext>(
  server: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  onResponse?: (req: IncomingMessage, res: ServerResponse, ctx: C) => void,
  options: { maxBodyBytes?: number; deadlineMs?: number; log?: Logger } = {},
): Route {
  const route = graphqlHandler(server, context, onResponse, options);
  // GraphQL over HTTP answers in GraphQL's shape, a fault of the server too.
  return async (req, res) => {
    try {
      await route(req, res);
    } catch (err) {
      const requestId = randomUUID();
      options.log?.error({ err, requestId, path: '/graphql' }, 'GraphQL request failed');
      if (res.headersSent) return void res.end();
      sendJson(res, 500, {
        errors: [
          {
            message: `internal server error (request ${requestId})`,
            extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId },
          },
        ],
      });
    }
  };
}

function graphqlHandler<C extends BaseContext>(
  server: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  onResponse: ((req: IncomingMessage, res: ServerResponse, ctx: C) => void) | undefined,
  options: { maxBodyBytes?: number; deadlineMs?: number },
): Route {
  return async (req, res) => {
    let ctx: C;
    let body: unknown;
    try {
      requireMethod(req, GRAPHQL_METHODS);
      if (req.method === 'POST') requireJsonBody(req);
      ctx = await context(req);
      body = req.method === 'POST' ? await readJson(req, options.maxBodyBytes) : undefined;
      const search = new URL(req.url ?? '/', 'http://x').searchParams;
      for (const name of ['variables', 'extensions']) {
        const text = search.get(name);
        if (text) withinDepth(parseOrText(text), `the ${name} parameter`);
      }
      const get = (name: string) => (search.has(name) ? parseOrText(search.get(name)!) : undefined);
      const request = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      persistedQuery(request.extensions ?? get('extensions'), request.query ?? search.get('query') ?? undefined);
    } catch (err) {
      if (!isMeshError(err)) throw err;
      setErrorHeaders(res, err);
      return sendJson(res, httpStatus(err.code), {
        errors: [{ message: err.message, extensions: { code: err.code } }],
      });
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    const response = await withinDeadline(
      server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: req.method ?? 'GET',
          headers,
          search: new URL(req.url ?? '/', 'http://x').search,
          body,
        },
        context: async () => ctx,
      }),
      options.deadlineMs,
    );
    if (!response) {
      return sendJson(res, httpStatus(ErrorCode.GATEWAY_TIMEOUT), {
        errors: [
          {
            message: `the request ran over its deadline of ${options.deadlineMs} ms`,
            extensions: { code: ErrorCode.GATEWAY_TIMEOUT },
          },
        ],
      });
    }
    for (const [k, v] of response.headers) res.setHeader(k, v);
    onResponse?.(req, res, ctx);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') return void res.end(meshCodes(response.body.string, res.statusCode));
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/**
 * Automatic persisted queries (Apollo's protocol) asked for correctly: version 1 and a SHA-256 in hex, and the query's
 * own hash when both come. A malformed request is the client's mistake (400 naming the field); only a well-formed hash
 * of an unknown query answers PERSISTED_QUERY_NOT_FOUND, which tells a client to send the query.
 */
function persistedQuery(extensions: unknown, query: unknown): void {
  const pq =
    typeof extensions === 'object' && extensions !== null
      ? (extensions as { persistedQuery?: unknown }).persistedQuery
      : undefined;
  if (pq === undefined) return;
  const bad = (message: string) =>
    new MeshError(ErrorCode.BAD_USER_INPUT, `extensions.persistedQuery: ${message}`, { parameter: 'extensions' });
  if (typeof pq !== 'object' || pq === null) throw bad('must be an object with version and sha256Hash');
  const { version, sha256Hash } = pq as { version?: unknown; sha256Hash?: unknown };
  if (version !== 1) throw bad(`version must be 1 (got ${JSON.stringify(version) ?? 'none'})`);
  if (typeof sha256Hash !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256Hash))
    throw bad("sha256Hash must be the query's SHA-256 as 64 hexadecimal digits");
  if (typeof query === 'string' && createHash('sha256').update(query).digest('hex') !== sha256Hash.toLowerCase())
    throw bad('sha256Hash is not the SHA-256 of the query sent with it');
}

/**
 * Apollo's own code for a request its HTTP layer refuses (`BAD_REQUEST`: no query, a GET without the CSRF preflight
 * header or with a body type) as the mesh's: clients match one set of codes, whoever refused.
 */
function meshCodes(body: string, status: number): string {
  if (status < 400 || !body.includes('"BAD_REQUEST"')) return body;
  const code = status === 415 ? ErrorCode.UNSUPPORTED_MEDIA_TYPE : ErrorCode.BAD_USER_INPUT;
  const answer = JSON.parse(body) as { errors?: { extensions?: { code?: string } }[] };
  for (const e of answer.errors ?? []) if (e.extensions?.code === 'BAD_REQUEST') e.extensions.code = code;
  return JSON.stringify(answer);
}

/** GraphQL over HTTP: queries by GET or POST, nothing else. */
const GRAPHQL_METHODS = ['GET', 'POST'] as const;

const parseOrText = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** What `work` resolves to, or undefined once `deadlineMs` has passed (the work's later failure is then ignored). */
export async function withinDeadline<T>(work: Promise<T>, deadlineMs: number | undefined): Promise<T | undefined> {
  if (!deadlineMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), deadlineMs);
  });
  const out = await Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  if (out === undefined) work.catch(() => undefined);
  return out;
}

/** Refuses a method the resource does not serve: 405 with the methods it does (`Allow`). */
export function requireMethod(req: IncomingMessage, allowed: readonly string[]): void {
  if (allowed.includes(req.method ?? 'GET')) return;
  throw new MeshError(ErrorCode.METHOD_NOT_ALLOWED, `${req.method} is not served here: use ${allowed.join(' or ')}`, {
    allow: allowed.join(', '),
  });
}

/** Refuses a body that does not say it is JSON (415): a JSON text sent as XML or a form is not read as JSON. */
export function requireJsonBody(req: IncomingMessage): void {
  const type = String(req.headers['content-type'] ?? '');
  if (/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) return;
  throw new MeshError(
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `the body must be sent as application/json (got ${type ? JSON.stringify(type.slice(0, 80)) : 'no content type'})`,
  );
}

/** The headers an error's status calls for: `Allow` with a 405, `Retry-After` with a 429 or 503 that names a wait. */
export function setErrorHeaders(res: ServerResponse, err: MeshError): void {
  if (typeof err.details.allow === 'string') res.setHeader('allow', err.details.allow);
  if (typeof err.details.retryAfterSeconds === 'number')
    res.setHeader('retry-after', String(err.details.retryAfterSeconds));
}

/** A MeshError as an RFC 9457 problem, with the headers its status calls for. */
export function sendErrorProblem(res: ServerResponse, err: MeshError, extra: Record<string, unknown> = {}): void {
  setErrorHeaders(res, err);
  const { allow: _allow, retryAfterSeconds: _retry, status: _status, ...details } = err.details;
  const status = typeof err.details.status === 'number' ? err.details.status : httpStatus(err.code);
  sendProblem(res, status, { code: err.code, detail: err.message, ...details, ...extra });
}

/** An RFC 9457 problem: the mesh's error code, a human detail and the request id; never internals. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  problem: { code: string; detail: string; requestId?: string; instance?: string; [extension: string]: unknown },
): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/problem+json');
  res.end(
    JSON.stringify({
      type: `https://mesh.example/problems/${problem.code.toLowerCase().replace(/_/g, '-')}`,
      title: STATUS_CODES[status] ?? 'Error',
      status,
      ...problem,
    }),
  );
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(value));
}

/** Request bodies over this size are refused (413) unless a server configures another limit. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * A JSON body (or its text when it is not JSON), refused with PAYLOAD_TOO_LARGE past `limit` bytes without buffering
 * the rest.
 */
export async function readJson(req: IncomingMessage, limit = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const tooLarge = () =>
    new MeshError(ErrorCode.PAYLOAD_TOO_LARGE, `the request body is over the limit of ${limit} bytes`, { limit });
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      // Stop keeping the body; what is still coming is read and dropped, so the 413 can be answered on this connection.
      req.off('data', onData);
      req.resume();
      chunks.length = 0;
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', resolve);
    req.once('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return withinDepth(parsed, 'the request body');
}

/** Deepest nesting of arrays and objects a request may carry: far beyond any real input, far below a stack's end. */
export const MAX_JSON_DEPTH = 64;

/**
 * `value`, unless its arrays and objects nest deeper than MAX_JSON_DEPTH: what later walks it recursively (variable
 * coercion, validation) would run out of stack on thousands of levels and answer 500. Checked without recursion.
 */
export function withinDepth<T>(value: T, what: string): T {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_JSON_DEPTH)
      throw new MeshError(ErrorCode.BAD_USER_INPUT, `${what} nests deeper than ${MAX_JSON_DEPTH} levels`, {
        maxDepth: MAX_JSON_DEPTH,
      });
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return value;
}

/** A port free on loopback now, for a server that must be told its port before it starts (a supervised process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
