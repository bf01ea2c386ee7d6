import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { Platform } from '../platform/context.js';
import { IDENTITY_HEADER, verifyInternalIdentity, type Identity } from '../platform/auth.js';
import { listen, graphqlRoute, sendJson, type Listening } from '../platform/http.js';
import { Metrics } from '../platform/metrics.js';
import { DateTime } from '../platform/subgraph/scalars.js';
import { dataProducts } from './catalog.js';

export const CATALOG_SUBGRAPH = 'metadata';
const SCHEMA = new URL('./schema.graphql', import.meta.url);
const VERSION = '1.0.0';

export interface RunningCatalogServer extends Listening {
  name: string;
  version: string;
  sdl: string;
}

/** The `metadata` subgraph: data products and the lineage graph, composed into the supergraph beside the domains. */
export async function startCatalogServer(platform: Platform, options: { port: number }): Promise<RunningCatalogServer> {
  const sdl = fs.readFileSync(SCHEMA, 'utf8');
  const graph = platform.lineage.graph;
  const resolvers = {
    DateTime,
    Query: {
      dataProducts: () => dataProducts(platform),
      dataProduct: async (_: unknown, { domain }: { domain: string }) => (await dataProducts(platform)).find((p) => p.domain === domain) ?? null,
      lineage: (_: unknown, a: { dataset: string; field?: string; direction: 'UPSTREAM' | 'DOWNSTREAM'; depth: number }) =>
        (a.direction === 'UPSTREAM' ? graph.upstream(a.dataset, a.field ?? undefined, a.depth) : graph.downstream(a.dataset, a.field ?? undefined, a.depth)).map((n) => ({ ...n, dataset: n.name })),
      columnReaders: (_: unknown, a: { dataset: string; column: string }) => graph.readers(a.dataset, a.column),
    },
    ServiceLevel: { value: (s: { value: unknown }) => String(s.value) },
  };
  const server = new ApolloServer<{ identity: Identity }>({
    schema: buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]),
    introspection: platform.config.env !== 'production',
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await server.start();
  const metrics = new Metrics('catalog');
  const context = async (req: IncomingMessage) => {
    const header = req.headers[IDENTITY_HEADER];
    return { identity: await verifyInternalIdentity(Array.isArray(header) ? header[0] : header, platform.config.auth) };
  };
  const listening = await listen(
    {
      '/graphql': graphqlRoute(server, context, (_req, res) => res.setHeader('x-mesh-subgraph', `${CATALOG_SUBGRAPH}@${VERSION}`)),
      '/health': (_req, res) => sendJson(res, 200, { status: 'ok', subgraph: CATALOG_SUBGRAPH, version: VERSION }),
      '/metrics': metrics.route(),
    },
    options.port,
  );
  return {
    ...listening,
    name: CATALOG_SUBGRAPH,
    version: VERSION,
    sdl,
    close: async () => {
      await listening.close();
      await server.stop();
    },
  };
}
