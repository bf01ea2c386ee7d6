import {
  Kind,
  getNamedType,
  getNullableType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  isInputObjectType,
  typeFromAST,
  GraphQLNonNull,
  validate,
  type FieldNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLInputType,
  type GraphQLSchema,
  type GraphQLNamedType,
  type SelectionSetNode,
} from 'graphql';
import { MeshError, ErrorCode } from '../../platform/index.js';
import type { RestEndpoint } from './endpoints.js';

export type JsonSchema = Record<string, unknown>;

/**
 * What a resource is, from its root field's type: one object (`entity`, 404 when null), a Relay connection (`list`:
 * its nodes, paged by the cursor variable with Link headers), or a list (`collection`, the analytical answers).
 */
export type ResourceKind = 'entity' | 'list' | 'collection';

export interface RestParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  type: GraphQLInputType;
  schema: JsonSchema;
  description?: string;
}

/** An endpoint checked against a schema: what it takes and what it answers, both as JSON Schema. */
export interface BoundEndpoint {
  endpoint: RestEndpoint;
  kind: ResourceKind;
  /** The root field's response key. */
  rootKey: string;
  parameters: RestParameter[];
  /** The `data` of a 200 answer: the object, the list's nodes, or the collection's items. */
  resource: JsonSchema;
  /** CSV columns (dotted paths into one row), for list and collection resources. */
  columns: string[];
  /** The query parameter that carries the next page's cursor (list resources). */
  cursorParam?: string;
}

/**
 * What the caller adds to a field's JSON Schema (its sources, its PII rules); a `deniable` field may be null for some
 * roles.
 */
export type FieldAnnotator = (type: string, field: string) => { extra?: JsonSchema; deniable?: boolean } | undefined;

const SCALARS: Record<string, JsonSchema> = {
  ID: { type: 'string' },
  String: { type: 'string' },
  Int: { type: 'integer', format: 'int32' },
  Float: { type: 'number', format: 'double' },
  Boolean: { type: 'boolean' },
  DateTime: { type: 'string', format: 'date-time' },
};

/** Checks the endpoint's operation against `schema` and derives its shapes; throws a MeshError naming what is wrong. */
export function bindEndpoint(
  schema: GraphQLSchema,
  endpoint: RestEndpoint,
  annotate: FieldAnnotator = () => undefined,
): BoundEndpoint {
  const fail = (reason: string) =>
    new MeshError(ErrorCode.SCHEMA_CHECK_FAILED, `${endpoint.method} ${endpoint.path} (${endpoint.name}): ${reason}`, {
      endpoint: endpoint.name,
      reason,
    });
  const errors = validate(schema, { kind: Kind.DOCUMENT, definitions: [endpoint.operation] });
  if (errors.length) throw fail(errors.map((e) => e.message).join('; '));
  const queryType = schema.getQueryType()!;
  const root = endpoint.operation.selectionSet.selections[0] as FieldNode;
  const field = queryType.getFields()[root.name.value]!;
  const shape = (type: GraphQLOutputType, selection: SelectionSetNode | undefined) =>
    outputSchema(type, selection, undefined, annotate);

  const parameters = endpoint.variables.map((v): RestParameter => {
    const name = v.variable.name.value;
    const type = typeFromAST(schema, v.type) as GraphQLInputType;
    const usedAs = root.arguments?.find((a) => a.value.kind === Kind.VARIABLE && a.value.name.value === name);
    const arg = usedAs ? field.args.find((a) => a.name === usedAs.name.value) : undefined;
    const inPath = endpoint.pathParams.includes(name);
    return {
      name,
      in: inPath ? 'path' : 'query',
      required: inPath || (isNonNullType(type) && !v.defaultValue),
      type,
      schema: {
        ...inputSchema(type, fail),
        ...(v.defaultValue && 'value' in v.defaultValue ? { default: literal(v.defaultValue) } : {}),
      },
      description: arg?.description ?? undefined,
    };
  });

  const nullable = getNullableType(field.type);
  const named = getNamedType(field.type);
  if (isListType(nullable)) {
    return {
      endpoint,
      kind: 'collection',
      rootKey: key(root),
      parameters,
      resource: { type: 'array', items: shape(nullable.ofType, root.selectionSet) },
      columns: columnsOf(named, root.selectionSet),
    };
  }
  if (isObjectType(named) && named.getFields().edges && named.getFields().pageInfo) {
    const edges = selected(root.selectionSet, 'edges');
    const node = edges && selected(edges.selectionSet, 'node');
    const pageInfo = selected(root.selectionSet, 'pageInfo');
    if (
      !node ||
      !pageInfo ||
      !selected(pageInfo.selectionSet, 'endCursor') ||
      !selected(pageInfo.selectionSet, 'hasNextPage')
    ) {
      throw fail('a connection resource selects edges { node { … } } and pageInfo { hasNextPage endCursor }');
    }
    const cursor = root.arguments?.find((a) => a.name.value === 'after' && a.value.kind === Kind.VARIABLE);
    if (!cursor || cursor.value.kind !== Kind.VARIABLE)
      throw fail('a connection resource passes a variable to "after": it is the cursor parameter');
    const edgeType = getNamedType(named.getFields().edges!.type);
    const nodeField = isObjectType(edgeType) ? edgeType.getFields().node : undefined;
    if (!nodeField) throw fail(`${edgeType.name} has no node field`);
    return {
      endpoint,
      kind: 'list',
      rootKey: key(root),
      parameters,
      resource: { type: 'array', items: shape(nodeField.type, node.selectionSet) },
      columns: columnsOf(getNamedType(nodeField.type), node.selectionSet),
      cursorParam: cursor.value.name.value,
    };
  }
  if (!isObjectType(named) && !isInterfaceType(named))
    throw fail(`the root field returns ${String(field.type)}: a resource is an object, a connection or a list`);
  return {
    endpoint,
    kind: 'entity',
    rootKey: key(root),
    parameters,
    resource: shape(new GraphQLNonNull(named), root.selectionSet),
    columns: [],
  };
}

function outputSchema(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  extra: JsonSchema | undefined,
  annotate: FieldAnnotator,
): JsonSchema {
  const nonNull = isNonNullType(type);
  const inner = getNullableType(type);
  let out: JsonSchema;
  if (isListType(inner)) out = { type: 'array', items: outputSchema(inner.ofType, selection, undefined, annotate) };
  else if (isScalarType(inner))
    out = {
      ...(SCALARS[inner.name] ?? {}),
      ...(inner.description && !SCALARS[inner.name] ? { description: inner.description } : {}),
    };
  else if (isEnumType(inner)) out = { type: 'string', enum: inner.getValues().map((v) => v.name) };
  else {
    const fields = 'getFields' in inner ? (inner.getFields() as Record<string, GraphQLField<unknown, unknown>>) : {};
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const f of fieldsOf(selection)) {
      const def = fields[f.name.value];
      if (!def) continue;
      const annotation = annotate(inner.name, def.name);
      // A field the rules may deny comes back null for some roles, whatever its type.
      const s = outputSchema(
        annotation?.deniable ? getNullableType(def.type) : def.type,
        f.selectionSet,
        annotation?.extra,
        annotate,
      );
      if (def.description) s.description = def.description;
      properties[key(f)] = s;
      // GraphQL answers every selected field, null or not: all are present.
      required.push(key(f));
    }
    out = { type: 'object', properties, ...(required.length ? { required } : {}) };
  }
  if (!nonNull) out = nullableOf(out);
  return extra ? { ...out, ...extra } : out;
}

/** JSON Schema 2020-12 (OpenAPI 3.1): null is a type. */
function nullableOf(s: JsonSchema): JsonSchema {
  if (typeof s.type === 'string')
    return { ...s, type: [s.type, 'null'], ...(Array.isArray(s.enum) ? { enum: [...s.enum, null] } : {}) };
  return { anyOf: [s, { type: 'null' }] };
}

function inputSchema(type: GraphQLInputType, fail: (m: string) => Error): JsonSchema {
  const inner = getNullableType(type);
  if (isListType(inner)) return { type: 'array', items: inputSchema(inner.ofType, fail) };
  if (isEnumType(inner)) return { type: 'string', enum: inner.getValues().map((v) => v.name) };
  if (isInputObjectType(inner))
    throw fail(`variable of input type ${inner.name}: REST parameters are scalars, enums or lists of them`);
  return SCALARS[inner.name] ?? { type: 'string' };
}

/** The fields a selection set picks, through inline fragments (named fragments are not allowed in endpoint files). */
function fieldsOf(selection: SelectionSetNode | undefined): FieldNode[] {
  if (!selection) return [];
  return selection.selections.flatMap((s) =>
    s.kind === Kind.FIELD
      ? s.name.value === '__typename'
        ? []
        : [s]
      : s.kind === Kind.INLINE_FRAGMENT
        ? fieldsOf(s.selectionSet)
        : [],
  );
}

function selected(selection: SelectionSetNode | undefined, name: string): FieldNode | undefined {
  return selection?.selections.find((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === name);
}

/** Dotted leaf paths of one row; a list inside a row is one column (its JSON). */
function columnsOf(type: GraphQLNamedType, selection: SelectionSetNode | undefined, prefix = ''): string[] {
  const fields = 'getFields' in type ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>) : {};
  return fieldsOf(selection).flatMap((f) => {
    const def = fields[f.name.value];
    const name = `${prefix}${key(f)}`;
    if (!def || !f.selectionSet || isListType(getNullableType(def.type))) return [name];
    return columnsOf(getNamedType(def.type), f.selectionSet, `${name}.`);
  });
}

function key(f: FieldNode): string {
  return f.alias?.value ?? f.name.value;
}

function literal(v: NonNullable<VariableDefault>): unknown {
  if (v.kind === Kind.INT) return Number(v.value);
  if (v.kind === Kind.FLOAT) return Number(v.value);
  if (v.kind === Kind.BOOLEAN) return v.value;
  if (v.kind === Kind.NULL) return null;
  if (v.kind === Kind.LIST) return v.values.map((x) => literal(x as VariableDefault));
  return 'value' in v ? v.value : undefined;
}
type VariableDefault = NonNullable<RestEndpoint['variables'][number]['defaultValue']>;
