import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.js';

/** Subgraph failures keep the data that arrived and name the subgraph in `extensions.subgraph`. */
export function useSubgraphErrors(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          if (rc.response.body.kind !== 'single') return;
          const result = rc.response.body.singleResult;
          if (!result.errors) return;
          result.errors = result.errors.map((e) => {
            const service = e.extensions?.serviceName;
            if (typeof service !== 'string') return e;
            const code = e.extensions?.code;
            const unavailable = /ECONNREFUSED|fetch failed|socket|ECONNRESET/i.test(e.message);
            return {
              ...e,
              extensions: { ...e.extensions, subgraph: service, code: !code || code === 'INTERNAL_SERVER_ERROR' ? (unavailable ? 'SUBGRAPH_UNAVAILABLE' : 'SUBGRAPH_ERROR') : code },
            };
          });
        },
      };
    },
  };
}
