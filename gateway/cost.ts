import {
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  parse,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { included } from '../platform/index.js';

/**
 * What the domains declare beside their schemas, with the cost directives Apollo's demand control reads (the IBM
 * GraphQL cost spec): `@cost(weight:)` on a field or a type, `@listSize(assumedSize:, slicingArguments:, sizedFields:)`
 * on a list field or a connection.
 */
export interface CostModel {
  weights: Map<string, number>;
  lists: Map<string, ListSize>;
}

interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
}

/** A list nobody sized: as Apollo's router assumes by default. */
export const DEFAULT_LIST_SIZE = 10;

/** The cost directives of a composed supergraph, by `Type.field` (and `Type` for a type's own weight). */
export function costModel(supergraphSdl: string): CostModel {
  const model: CostModel = { weights: new Map(), lists: new Map() };
  for (const def of parse(supergraphSdl).definitions) {
    if (
      def.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      def.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      def.kind !== Kind.INTERFACE_TYPE_DEFINITION
    )
      continue;
    const typeWeight = weightOf(def.directives ?? []);
    if (typeWeight !== undefined) model.weights.set(def.name.value, typeWeight);
    for (const field of def.fields ?? []) {
      const coordinate = `${def.name.value}.${field.name.value}`;
      const weight = weightOf(field.directives ?? []);
      if (weight !== undefined) model.weights.set(coordinate, weight);
      const list = field.directives?.find((d) => d.name.value === 'listSize');
      if (list) {
        const args = Object.fromEntries(
          (list.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]),
        );
        model.lists.set(coordinate, args as ListSize);
      }
    }
  }
  return model;
}

function weightOf(directives: readonly { name: { value: string }; arguments?: readonly { value: ValueNode }[] }[]) {
  const cost = directives.find((d) => d.name.value === 'cost');
  const value = cost?.arguments?.[0]?.value;
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

/**
 * The estimated cost of an operation before it runs, as demand control counts it: a field of a composite type costs
 * its weight (1 unless declared) plus what it selects, a leaf its weight (0 unless declared), and a list as many times
 * as its size: the slicing argument's value (`first`), else its assumed size. Fragments add what they select, so an
 * abstract selection is counted for every type it names. Selections left out by @skip/@include cost nothing.
 */
export function estimateCost(
  schema: GraphQLSchema,
  model: CostModel,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): number {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  const root = schema.getQueryType();
  if (!operation || !root) return 0;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const walk = (set: SelectionSetNode, type: GraphQLCompositeType, sized: Map<string, number>, seen: Set<string>) => {
    let total = 0;
    for (const sel of set.selections) {
      if (!included(sel, variables)) continue;
      if (sel.kind === Kind.FIELD) {
        total += fieldCost(sel, type, sized, seen);
        continue;
      }
      const name = sel.kind === Kind.FRAGMENT_SPREAD ? sel.name.value : undefined;
      if (name && seen.has(name)) continue; // a fragment cycle is invalid anyway; never loop
      const fragment = sel.kind === Kind.INLINE_FRAGMENT ? sel : fragments.get(sel.name.value);
      if (!fragment) continue;
      const cond = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : type;
      if (cond && isCompositeType(cond))
        total += walk(fragment.selectionSet, cond, sized, name ? new Set([...seen, name]) : seen);
    }
    return total;
  };
  const fieldCost = (sel: FieldNode, parent: GraphQLCompositeType, sized: Map<string, number>, seen: Set<string>) => {
    if (sel.name.value.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) return 0;
    const def = parent.getFields()[sel.name.value];
    if (!def) return 0;
    const coordinate = `${parent.name}.${def.name}`;
    const named = getNamedType(def.type);
    const composite = isCompositeType(named);
    const weight = model.weights.get(coordinate) ?? model.weights.get(named.name) ?? (composite ? 1 : 0);
    const declared = model.lists.get(coordinate);
    const args = argumentValues(sel, def.args, variables);
    const slice = declared?.slicingArguments
      ?.map((a) => args[a])
      .find((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const size = slice ?? declared?.assumedSize ?? DEFAULT_LIST_SIZE;
    // A connection's slicing argument sizes its `edges`, not the connection itself.
    const childSized = new Map(declared?.sizedFields?.map((f) => [f, size]) ?? []);
    const children = sel.selectionSet && composite ? walk(sel.selectionSet, named, childSized, seen) : 0;
    const perItem = weight + children;
    if (!isListType(getNullableType(def.type)) && !sized.has(def.name)) return perItem;
    const count = sized.get(def.name) ?? (declared?.sizedFields ? 1 : size);
    return Math.max(0, count) * perItem;
  };
  return walk(operation.selectionSet, root, new Map(), new Set());
}

/** A field's argument values: literals, the request's variables, or the schema's defaults. */
function argumentValues(
  sel: FieldNode,
  defs: readonly { name: string; defaultValue?: unknown }[],
  variables: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(
    defs.filter((d) => d.defaultValue !== undefined).map((d) => [d.name, d.defaultValue]),
  );
  for (const arg of sel.arguments ?? []) out[arg.name.value] = valueFromASTUntyped(arg.value, variables);
  return out;
}
