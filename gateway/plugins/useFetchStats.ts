import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from '../../platform/index.js';
import type { GatewayContext } from '../context.js';

/** What each request cost the subgraphs: fetches per operation and DuckDB queries, in metrics and response headers. */
export function useFetchStats(metrics: Metrics): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart(rc) {
      return {
        async willSendResponse(ctx) {
          const operation = metrics.operations.of(ctx.operationName ?? undefined);
          for (const [subgraph, n] of Object.entries(rc.contextValue.stats.subgraphFetches))
            metrics.operationFetches.inc({ operation, subgraph }, n);
          metrics.duckdbQueries.inc(rc.contextValue.stats.duckdbQueries);
          ctx.response.http.headers.set('x-mesh-duckdb-queries', String(rc.contextValue.stats.duckdbQueries));
          ctx.response.http.headers.set(
            'x-mesh-subgraph-fetches',
            JSON.stringify(rc.contextValue.stats.subgraphFetches),
          );
        },
      };
    },
  };
}
