import { createHash } from 'node:crypto';
import {
  Kind,
  TypeInfo,
  getNamedType,
  getVariableValues,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  print,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { included } from '../../platform/index.js';
import { fieldAccess, unauthorizedField, type PiiFieldOwner, type RolePolicy } from '../../governance/index.js';
import type { GatewayContext } from '../context.js';

/** PII fields of the supergraph, the domain (subgraph) owning each and its kind: `Type.field` → owner. */
export type PiiOwners = Map<string, PiiFieldOwner & { kind: string }>;

const PRUNED = '__mesh_pruned';

/**
 * The gateway's enforcement point, before planning: fields the caller's role may never read are removed from the
 * document, so the plan never fetches them; after execution they come back as null with an UNAUTHORIZED_FIELD_OR_TYPE
 * error each. Masking (a role that may see a token) is left to the owning subgraph, which applies the same policy.
 */
export function useAuthorization(
  policy: RolePolicy,
  state: { schema?: GraphQLSchema; pii: PiiOwners },
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let original: DocumentNode | undefined;
      let denied: Set<string> | undefined;
      return {
        async didResolveOperation(rc) {
          const schema = state.schema;
          if (!schema) return;
          const role = rc.contextValue.identity.role;
          const deny = new Set(
            [...state.pii].filter(([, owner]) => fieldAccess(policy, role, owner) === 'deny').map(([f]) => f),
          );
          if (deny.size === 0) return;
          const pruned = prune(rc.document, schema, deny);
          if (pruned === rc.document) return;
          original = rc.document;
          denied = deny;
          // Replace, never edit: Apollo caches parsed documents. The plan cache keys on queryHash, so it must change
          // too.
          (rc as { document: DocumentNode }).document = pruned;
          (rc as { queryHash: string }).queryHash = createHash('sha256').update(print(pruned)).digest('hex');
        },
        async willSendResponse(rc) {
          if (!original || !denied || !state.schema || rc.response.body.kind !== 'single') return;
          const result = rc.response.body.singleResult;
          const errors = new Map<string, { path: (string | number)[] }>();
          const op = original.definitions.find(
            (d) =>
              d.kind === Kind.OPERATION_DEFINITION &&
              (!rc.request.operationName || d.name?.value === rc.request.operationName),
          );
          const root = state.schema.getQueryType();
          if (op && op.kind === Kind.OPERATION_DEFINITION && root && result.data) {
            const fragments = Object.fromEntries(
              original.definitions
                .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
                .map((f) => [f.name.value, f]),
            );
            // The operation's variables as execution saw them (defaults applied): @skip and @include read them.
            const coerced = getVariableValues(state.schema, op.variableDefinitions ?? [], rc.request.variables ?? {});
            const variables = coerced.coerced ?? {};
            const walk = { schema: state.schema, fragments, denied, errors, variables };
            applyDenials(op.selectionSet, result.data, root, walk, []);
          }
          const role = rc.contextValue.identity.role;
          result.errors = [
            ...(result.errors ?? []),
            ...[...errors].map(([field, { path }]) => {
              const [type, name] = field.split('.') as [string, string];
              const e = unauthorizedField(type, name, role);
              return { message: e.message, path, extensions: e.extensions };
            }),
          ];
          if (result.errors.length === 0) delete result.errors;
        },
      };
    },
  };
}

/** The document without the denied fields; selection sets left empty keep a placeholder so the document stays valid. */
export function prune(document: DocumentNode, schema: GraphQLSchema, denied: Set<string>): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  let changed = false;
  const out = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && deniedOn(parent, node.name.value, schema, denied)) {
          changed = true;
          return null;
        }
        return undefined;
      },
      SelectionSet: {
        leave(node: SelectionSetNode) {
          if (node.selections.length > 0) return undefined;
          return {
            ...node,
            selections: [
              {
                kind: Kind.FIELD,
                alias: { kind: Kind.NAME, value: PRUNED },
                name: { kind: Kind.NAME, value: '__typename' },
              },
            ],
          };
        },
      },
    }),
  );
  return changed ? out : document;
}

/** Denied on the type itself or, for an interface, on any implementation (a fragment may reach it either way). */
function deniedOn(parent: GraphQLCompositeType, field: string, schema: GraphQLSchema, denied: Set<string>): boolean {
  if (denied.has(`${parent.name}.${field}`)) return true;
  if (isInterfaceType(parent)) return schema.getPossibleTypes(parent).some((t) => denied.has(`${t.name}.${field}`));
  return false;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  denied: Set<string>;
  errors: Map<string, { path: (string | number)[] }>;
  variables: Record<string, unknown>;
}

function applyDenials(
  selectionSet: SelectionSetNode,
  data: unknown,
  parent: GraphQLCompositeType,
  w: Walk,
  path: (string | number)[],
): void {
  if (data === null || data === undefined) return;
  if (Array.isArray(data)) {
    data.forEach((item, i) => applyDenials(selectionSet, item, parent, w, [...path, i]));
    return;
  }
  const obj = data as Record<string, unknown>;
  delete obj[PRUNED];
  for (const sel of selectionSet.selections) {
    if (!included(sel, w.variables)) continue;
    if (sel.kind === Kind.FIELD) {
      const key = sel.alias?.value ?? sel.name.value;
      if (deniedOn(parent, sel.name.value, w.schema, w.denied)) {
        obj[key] = null;
        const field = `${parent.name}.${sel.name.value}`;
        if (!w.errors.has(field)) w.errors.set(field, { path: [...path, key] });
        continue;
      }
      if (!sel.selectionSet || !(isObjectType(parent) || isInterfaceType(parent))) continue;
      const def = parent.getFields()[sel.name.value];
      const child = def && getNamedType(def.type);
      if (child && isCompositeType(child)) applyDenials(sel.selectionSet, obj[key], child, w, [...path, key]);
    } else {
      const fragment = sel.kind === Kind.INLINE_FRAGMENT ? sel : w.fragments[sel.name.value];
      if (!fragment) continue;
      const cond = fragment.typeCondition ? w.schema.getType(fragment.typeCondition.name.value) : parent;
      if (!cond || !isCompositeType(cond)) continue;
      const concrete = typeof obj.__typename === 'string' ? w.schema.getType(obj.__typename) : undefined;
      if (
        concrete &&
        isObjectType(concrete) &&
        concrete !== cond &&
        !(isObjectType(cond) ? false : w.schema.isSubType(cond, concrete))
      )
        continue;
      applyDenials(fragment.selectionSet, obj, cond, w, path);
    }
  }
}
