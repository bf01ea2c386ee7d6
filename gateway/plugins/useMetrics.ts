import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from '../../platform/metrics.js';
import type { GatewayContext } from '../context.js';

/** Requests and latency per operation and client, and what each request cost the subgraphs (response headers). */
export function useMetrics(metrics: Metrics): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart(rc) {
      const end = metrics.duration.startTimer();
      return {
        async willSendResponse(ctx) {
          const operation = ctx.operationName ?? 'anonymous';
          const failed = ctx.response.body.kind === 'single' && (ctx.response.body.singleResult.errors?.length ?? 0) > 0;
          end({ operation });
          metrics.requests.inc({ operation, client: rc.contextValue.client, status: failed ? 'error' : 'ok' });
          metrics.duckdbQueries.inc(rc.contextValue.stats.duckdbQueries);
          ctx.response.http.headers.set('x-mesh-duckdb-queries', String(rc.contextValue.stats.duckdbQueries));
          ctx.response.http.headers.set('x-mesh-subgraph-fetches', JSON.stringify(rc.contextValue.stats.subgraphFetches));
        },
      };
    },
  };
}
