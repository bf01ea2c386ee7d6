import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, getVariableValues, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { inclusionKey } from '../../platform/index.js';
import { fieldAccess, type RolePolicy } from '../../governance/index.js';
import { responseFields } from '../../lineage/index.js';
import type { GatewayContext } from '../context.js';
import type { PiiOwners } from './useAuthorization.js';

/** What the caller's role got for the PII it selected: response paths (aliases as sent, list indices left out). */
export interface AccessReport {
  role: string;
  masked: string[];
  withheld: string[];
}

// Apollo reuses one parsed document per distinct query text: the report is worked out once per document, operation and
// role.
const reports = new WeakMap<DocumentNode, Map<string, AccessReport | null>>();

/**
 * Tells the client, in `extensions.governance`, which fields of its response are tokens instead of values and which
 * were withheld, so tools (the console's playground, notebooks) can show masked data as masked instead of as odd
 * strings.
 */
export function useAccessReport(
  policy: RolePolicy,
  state: { schema?: GraphQLSchema; pii: PiiOwners },
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart(rc) {
      let original: DocumentNode | undefined;
      return {
        async didResolveOperation(ctx) {
          original = ctx.document;
        },
        async willSendResponse(ctx) {
          if (!original || !state.schema || ctx.response.body.kind !== 'single') return;
          const role = rc.contextValue.identity.role;
          const variables = coercedVariables(state.schema, original, ctx.operationName ?? null, ctx.request.variables);
          const key = `${ctx.operationName ?? ''}\u0000${role}\u0000${inclusionKey(original, variables)}`;
          let byKey = reports.get(original);
          if (!byKey) reports.set(original, (byKey = new Map()));
          let report = byKey.get(key);
          if (report === undefined) {
            report = describe(state.schema, original, ctx.operationName ?? null, variables, role, policy, state.pii);
            byKey.set(key, report);
          }
          if (report)
            ctx.response.body.singleResult.extensions = {
              ...ctx.response.body.singleResult.extensions,
              governance: report,
            };
        },
      };
    },
  };
}

/** The operation's variables as execution saw them (defaults applied): @skip and @include read them. */
export function coercedVariables(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  given: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const op = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  return getVariableValues(schema, op?.variableDefinitions ?? [], given ?? {}).coerced ?? {};
}

function describe(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  variables: Record<string, unknown>,
  role: string,
  policy: RolePolicy,
  pii: PiiOwners,
): AccessReport | null {
  const masked: string[] = [];
  const withheld: string[] = [];
  for (const f of responseFields(schema, document, operationName, variables)) {
    const owner = pii.get(f.coordinate);
    if (owner === undefined) continue;
    const access = fieldAccess(policy, role, owner);
    if (access === 'masked') masked.push(f.path);
    else if (access === 'deny' || access === undefined) withheld.push(f.path);
  }
  return masked.length + withheld.length > 0 ? { role, masked, withheld } : null;
}
