import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode } from 'graphql';
import { fieldAccess, type RolePolicy } from '../../governance/index.js';
import type { OperationLineage } from '../../lineage/index.js';
import type { GatewayContext } from '../context.js';
import type { PiiOwners } from './useAuthorization.js';

/**
 * Field-level lineage of every operation the gateway answers: recorded after the response is sent, aggregated, and
 * emitted in the background, so a query never waits for lineage.
 */
export function useLineage(
  lineage: OperationLineage,
  policy: RolePolicy,
  state: { pii: PiiOwners },
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart(rc) {
      // The document as the client sent it: authorization prunes denied fields later, on its own copy of the plan.
      let original: DocumentNode | undefined;
      return {
        async didResolveOperation(ctx) {
          original = ctx.document;
        },
        async willSendResponse(ctx) {
          if (!original || !ctx.schema) return;
          const role = rc.contextValue.identity.role;
          lineage.record({
            name: ctx.operationName ?? 'anonymous',
            document: original,
            schema: ctx.schema,
            client: rc.contextValue.client,
            role,
            piiAccess: (coordinate) => {
              const owner = state.pii.get(coordinate);
              return owner === undefined ? undefined : fieldAccess(policy, role, owner);
            },
          });
        },
      };
    },
  };
}
