import type { IncomingMessage } from 'node:http';
import { parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { Platform } from '../context.js';
import { IDENTITY_HEADER, verifyInternalIdentity, type Identity } from '../auth.js';
import { listen, graphqlRoute, sendJson, type Listening, type Route } from '../http.js';
import { isMeshError } from '../errors.js';
import type { Metrics } from '../metrics.js';

export interface PlatformSubgraphOptions<C> {
  name: string;
  version: string;
  sdl: string;
  resolvers: unknown;
  port: number;
  metrics: Metrics;
  /** The per-request context, built once the gateway's signed identity is verified. */
  context: (identity: Identity) => Promise<C> | C;
  /** More routes on the same port (e.g. Feast REST). */
  routes?: Record<string, Route>;
  health?: () => Record<string, unknown>;
}

/**
 * A subgraph the platform itself serves (features, metadata): Apollo over the platform's HTTP transport, answering only
 * the gateway's signed identity, with `/health` and `/metrics`, and MeshError codes kept in `extensions.code`.
 */
export async function startPlatformSubgraph<C extends { identity: Identity }>(platform: Platform, o: PlatformSubgraphOptions<C>): Promise<Listening> {
  const server = new ApolloServer<C>({
    schema: buildSubgraphSchema([{ typeDefs: parse(o.sdl), resolvers: o.resolvers as never }]),
    introspection: platform.config.env !== 'production',
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginInlineTraceDisabled(), o.metrics.requestPlugin<C>(() => 'gateway')],
    formatError: (formatted, error) => {
      const original = unwrapResolverError(error);
      return isMeshError(original) ? { ...formatted, message: original.message, extensions: { ...formatted.extensions, code: original.code } } : formatted;
    },
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<C> => {
    const header = req.headers[IDENTITY_HEADER];
    return o.context(await verifyInternalIdentity(Array.isArray(header) ? header[0] : header, platform.config.auth));
  };
  const listening = await listen(
    {
      '/graphql': graphqlRoute(server, context, (_req, res) => res.setHeader('x-mesh-subgraph', `${o.name}@${o.version}`)),
      '/health': (_req, res) => sendJson(res, 200, { status: 'ok', subgraph: o.name, version: o.version, ...o.health?.() }),
      '/metrics': o.metrics.route(),
      ...o.routes,
    },
    o.port,
  );
  return {
    ...listening,
    close: async () => {
      await listening.close();
      await server.stop();
    },
  };
}
