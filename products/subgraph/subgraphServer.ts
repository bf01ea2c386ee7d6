import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, type GraphQLSchema } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  IDENTITY_HEADER,
  verifyInternalIdentity,
  listen,
  graphqlRoute,
  sendJson,
  isMeshError,
  ErrorCode,
  type Platform,
  type Identity,
  type Listening,
  type Route,
  type Metrics,
} from '../../platform/index.js';
import { DateTime } from './scalars.js';
import { compiledExecution } from './compiled.js';

export interface SubgraphServerOptions<C> {
  name: string;
  version: string;
  sdl: string;
  resolvers: object;
  port: number;
  metrics: Metrics;
  /** Whether a role is in the governance policy: identities of other roles are refused with 403. */
  knownRole: (role: string) => boolean;
  /** The per-request context, built once the gateway's signed identity is verified. */
  context: (identity: Identity) => Promise<C> | C;
  /** Wraps the built schema before serving, e.g. with the governance PII shield. */
  guard?: (schema: GraphQLSchema) => GraphQLSchema;
  /** Sets response headers from the finished request's context (e.g. its DuckDB cost). */
  onResponse?: (res: ServerResponse, ctx: C) => void;
  /** More routes on the same port (e.g. Feast REST). */
  routes?: Record<string, Route>;
  health?: () => Record<string, unknown>;
}

/**
 * Every subgraph of the mesh, domain or platform: Apollo over the platform's HTTP transport, answering only the
 * gateway's signed identity, with `/health` and `/metrics`, and MeshError codes kept in `extensions.code` (one error
 * formatter).
 */
export async function serveSubgraph<C extends { identity: Identity }>(
  platform: Platform,
  o: SubgraphServerOptions<C>,
): Promise<Listening> {
  const built = buildSubgraphSchema([{ typeDefs: parse(o.sdl), resolvers: { DateTime, ...o.resolvers } as never }]);
  const server = new ApolloServer<C>({
    gateway: compiledExecution(o.guard ? o.guard(built) : built, {
      onCompileError: (err) =>
        platform.log.warn({ err, subgraph: o.name }, 'operation not compiled, run by graphql-js'),
    }),
    introspection: platform.config.env !== 'production',
    includeStacktraceInErrorResponses: false,
    // Cache-control hints are computed per resolved field and nobody reads them here: off.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      o.metrics.requestPlugin<C>(() => 'gateway'),
    ],
    formatError: (formatted, error) => {
      const original = unwrapResolverError(error);
      if (isMeshError(original))
        return {
          ...formatted,
          message: original.message,
          extensions: { ...formatted.extensions, code: original.code },
        };
      if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
      // A fault of ours (a failed statement, a bug): its text may hold SQL or paths, so it goes to the log only.
      const requestId = randomUUID();
      platform.log.error({ err: original, requestId, subgraph: o.name, path: formatted.path }, 'resolver failed');
      return {
        message: `internal error in subgraph ${o.name} (request ${requestId})`,
        path: formatted.path,
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId },
      };
    },
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<C> => {
    const header = req.headers[IDENTITY_HEADER];
    return o.context(
      await verifyInternalIdentity(
        Array.isArray(header) ? header[0] : header,
        platform.config.auth,
        o.name,
        o.knownRole,
      ),
    );
  };
  const listening = await listen(
    {
      '/graphql': graphqlRoute(
        server,
        context,
        (_req, res, ctx) => {
          res.setHeader('x-mesh-subgraph', `${o.name}@${o.version}`);
          o.onResponse?.(res, ctx);
        },
        { maxBodyBytes: platform.config.maxBodyBytes, log: platform.log },
      ),
      '/health': (_req, res) =>
        sendJson(res, 200, { status: 'ok', subgraph: o.name, version: o.version, ...o.health?.() }),
      '/metrics': o.metrics.route(undefined, platform.config.metrics.token),
      ...o.routes,
    },
    o.port,
    { log: platform.log, host: platform.config.httpHost },
  );
  return {
    ...listening,
    close: async () => {
      await listening.close();
      await server.stop();
    },
  };
}
