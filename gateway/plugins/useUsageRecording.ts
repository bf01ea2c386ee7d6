import type { ApolloServerPlugin } from '@apollo/server';
import { describeOperation, type UsageRecorder } from '../../governance/index.js';
import type { GatewayContext } from '../context.js';

/**
 * Records every operation the gateway resolves (signature, name, client, the coordinates it uses) for the schema
 * checks: a breaking change fails only if recent traffic uses what it breaks.
 */
export function useUsageRecording(recorder: UsageRecorder): ApolloServerPlugin<GatewayContext> {
  const described = new Map<string, ReturnType<typeof describeOperation>>();
  return {
    async requestDidStart(rc) {
      return {
        async didResolveOperation(ctx) {
          const cacheKey = `${ctx.queryHash}\u0000${ctx.operationName ?? ''}`;
          let d = described.get(cacheKey);
          if (!d) {
            d = describeOperation(ctx.schema, ctx.document);
            if (described.size > 10_000) described.clear();
            described.set(cacheKey, d);
          }
          recorder.record({ ...d, name: ctx.operationName ?? 'anonymous', client: rc.contextValue.client });
        },
      };
    },
  };
}
