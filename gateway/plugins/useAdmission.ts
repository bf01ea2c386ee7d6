import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import {
  ErrorCode,
  isMeshError,
  type CostBudgets,
  type HeavyPool,
  type Identity,
  type Metrics,
} from '../../platform/index.js';
import { estimateCost, type CostModel } from '../cost.js';
import type { GatewayContext } from '../context.js';
import { coercedVariables } from './useAccessReport.js';

export interface AdmissionOptions {
  state: { schema?: GraphQLSchema; cost?: CostModel };
  /** Each caller's budget; absent: no budgets (the pool still bounds heavy work). */
  budgets?: CostBudgets;
  pool: HeavyPool;
  /** Requests estimated at this cost or more run in the pool. */
  heavyCost: number;
  metrics: Metrics;
}

/** Whose budget a request spends: its token's subject, or its role when the token names none. */
const callerOf = (identity: Identity) => identity.sub || `role:${identity.role}`;

/**
 * Admission by cost, per caller, before any subgraph is asked: the operation's cost is estimated from the cost
 * directives the domains declare (`@cost`, `@listSize`), taken from the caller's budget, and a request the budget
 * cannot pay is refused with 429 and Retry-After (the cost and the budget in `extensions.cost`, as Shopify reports
 * it). Heavy requests then wait for a slot of the bounded heavy pool, so key lookups never queue behind them. Every
 * answer says what it cost (`x-mesh-query-cost`, `ratelimit-remaining`).
 */
export function useAdmission(o: AdmissionOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      let admitted: { cost: number; remaining?: number } | undefined;
      let refused: { status: number; retryAfterSeconds?: number } | undefined;
      return {
        async didResolveOperation(rc) {
          const { schema, cost: model } = o.state;
          if (!schema || !model) return;
          const variables = coercedVariables(schema, rc.document, rc.operationName ?? null, rc.request.variables);
          const cost = estimateCost(schema, model, rc.document, rc.operationName, variables);
          o.metrics.requestCost.observe(cost);
          const budgets = o.budgets;
          if (budgets && cost > budgets.capacity) {
            refused = { status: 400 };
            throw new GraphQLError(
              `this operation is estimated at ${cost} points, over the ${budgets.capacity} one request may cost: ` +
                'ask for fewer items (first, entities) or split it',
              {
                extensions: { code: ErrorCode.QUERY_LIMIT_EXCEEDED, cost: costReport(cost, budgets, budgets.capacity) },
              },
            );
          }
          const admission = budgets?.take(callerOf(rc.contextValue.identity), cost);
          if (budgets && admission && !admission.ok) {
            o.metrics.throttled.inc({ reason: 'budget' });
            refused = { status: 429, retryAfterSeconds: admission.retryAfterSeconds };
            throw throttled(
              `over budget: this operation costs ${cost} points and ${admission.remaining} are left, refilling ` +
                `${budgets.refillPerSecond} a second: retry in ${admission.retryAfterSeconds} s`,
              costReport(cost, budgets, admission.remaining),
            );
          }
          admitted = { cost, remaining: admission?.remaining };
          if (cost < o.heavyCost) return;
          try {
            release = await o.pool.acquire();
          } catch (err) {
            if (!isMeshError(err, ErrorCode.THROTTLED)) throw err;
            o.metrics.throttled.inc({ reason: 'pool' });
            refused = { status: 429, retryAfterSeconds: Number(err.details.retryAfterSeconds ?? 1) };
            throw throttled(err.message, { requestedQueryCost: cost });
          }
        },
        async willSendResponse(rc) {
          release?.();
          release = undefined;
          const headers = rc.response.http.headers;
          if (refused) {
            rc.response.http.status = refused.status;
            if (refused.retryAfterSeconds !== undefined) headers.set('retry-after', String(refused.retryAfterSeconds));
            return;
          }
          if (!admitted) return;
          headers.set('x-mesh-query-cost', String(admitted.cost));
          if (admitted.remaining !== undefined && o.budgets) {
            headers.set('ratelimit-limit', String(o.budgets.capacity));
            headers.set('ratelimit-remaining', String(admitted.remaining));
          }
        },
      };
    },
  };
}

function throttled(message: string, cost: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.THROTTLED, cost } });
}

/** The cost and the caller's budget, in the shape Shopify's clients read (`extensions.cost`). */
function costReport(cost: number, budgets: CostBudgets, available: number) {
  return {
    requestedQueryCost: cost,
    throttleStatus: {
      maximumAvailable: budgets.capacity,
      currentlyAvailable: available,
      restoreRate: budgets.refillPerSecond,
    },
  };
}
