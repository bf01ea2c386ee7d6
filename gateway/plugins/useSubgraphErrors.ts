import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.js';

/**
 * Errors a subgraph returned carry the gateway's `serviceName`; expose it as `extensions.subgraph`, the same key
 * the data source sets when a subgraph cannot be reached, so clients read one field either way.
 */
export function useSubgraphErrors(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          if (rc.response.body.kind !== 'single' || !rc.response.body.singleResult.errors) return;
          rc.response.body.singleResult.errors = rc.response.body.singleResult.errors.map((e) =>
            typeof e.extensions?.serviceName === 'string' && !e.extensions.subgraph
              ? { ...e, extensions: { ...e.extensions, subgraph: e.extensions.serviceName } }
              : e,
          );
        },
      };
    },
  };
}
