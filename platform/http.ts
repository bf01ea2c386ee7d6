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
 * throws, at once or later, reaches the process: the client gets a 500 without details, the log gets the error.
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
      return sendJson(res, 400, {
        error: { code: ErrorCode.BAD_USER_INPUT, message: 'the request path is not valid percent-encoding' },
      });
    }
    const route = Object.hasOwn(routes, path)
      ? routes[path]
      : routes[prefixes.find((p) => path.startsWith(p.slice(0, -1)) || path === p.slice(0, -2)) ?? ''];
    if (!route) return sendJson(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: `no route ${path}` } });
    // then(): a route that throws before returning a promise is caught here too, not by the process.
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        options.log?.error({ err, method: req.method, path }, 'route failed');
        if (!res.headersSent)
          sendJson(res, 500, {
            errors: [{ message: 'internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }],
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
  options: { maxBodyBytes?: number; deadlineMs?: number } = {},
): Route {
  return async (req, res) => {
    let ctx: C;
    let body: unknown;
    try {
      ctx = await context(req);
      body = req.method === 'POST' ? await readJson(req, options.maxBodyBytes) : undefined;
    } catch (err) {
      if (!isMeshError(err)) throw err;
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
    if (response.body.kind === 'complete') return void res.end(response.body.string);
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

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
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
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
