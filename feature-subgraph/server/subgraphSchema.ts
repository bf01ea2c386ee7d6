import { GraphQLError, GraphQLScalarType, Kind, type GraphQLResolveInfo } from 'graphql';
import { MeshError, ErrorCode, isMeshError } from '../../platform/index.js';
import { DateTime } from '../../products/index.js';
import { currentViews, resolveFeatures, tableId, type Registry, type ViewVersion } from '../registry.js';
import type { OnlineStore } from '../online/types.js';
import {
  cellOf,
  keyFor,
  readColumnsOrInvalid,
  FeatureCell,
  MAX_ENTITY_ROWS,
  MAX_FEATURES,
  MAX_VALUES,
} from './onlineRead.js';
import { scoreEntity } from './modelScoring.js';
import type { FeatureContext } from './requestContext.js';

export type { FeatureContext };

/**
 * The `features` subgraph's SDL, generated from the registry's entities: every entity with a graph type gets a
 * `features` field on that type, and its join keys become fields of the `FeatureEntityRow` input.
 */
export function featureSubgraphSdl(registry: Registry): string {
  const entities = Object.values(registry.entities).filter((e) => e.graphql);
  const joinKeys = [...new Set(Object.values(registry.entities).flatMap((e) => e.joinKeys))].sort();
  const extensions = entities.map(
    (e) =>
      `
"${e.description ?? e.name}: extended with its online features."
type ${e.graphql!.type} @key(fields: "${e.graphql!.keyField}") {
  ${e.graphql!.keyField}: ID!
  """
  Online feature values of this ${e.name}: \`names\` are references (\`view:feature\`, \`view@v2:feature\`, \`view:*\`)
  or \`service\` names a feature service; only views keyed by ${e.name} alone apply.
  """
  features(names: [String!], service: String, fullNames: Boolean = false): [Feature!]! @listSize(assumedSize: 20)
  "The same values as \`features\`, as one flat list per part: cheaper to serve and to read for many features of ` +
      `many ${e.name}s."
  featureValues(names: [String!], service: String, fullNames: Boolean = false): FeatureValues!
  "The probability a trained model (npx mesh train) gives this ${e.name}, from its online features."
  modelScore(model: String!): ModelScore @cost(weight: 5)
}`,
  );
  return (
    `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])

scalar DateTime

"A feature value: Int, Float, String or Boolean (64-bit integers beyond 2^53 lose precision)."
scalar FeatureScalar

"Feast's statuses. OUTSIDE_MAX_AGE: the newest value is older than the view's TTL and is withheld."
enum FeatureStatus {
  PRESENT
  NULL_VALUE
  NOT_FOUND
  OUTSIDE_MAX_AGE
  "The online store did not answer: the value is withheld and the value field carries the error."
  INVALID
}

type ModelScore {
  model: String!
  version: Int!
  score: Float!
  "Features without a present online value, scored with their training mean."
  missing: Int!
}

type Feature {
  "The requested feature's output name (feature, or view__feature with full names)."
  name: String!
  value: FeatureScalar
  status: FeatureStatus!
  eventTimestamp: DateTime
}

"Online feature values of one entity, position i of each list belonging to the feature names[i]."
type FeatureValues {
  names: [String!]!
  "A value withheld (status INVALID) is null, with an error at its position."
  values: [FeatureScalar]!
  statuses: [FeatureStatus!]!
  eventTimestamps: [DateTime]!
}
${extensions.join('\n')}

"One entity row of an online lookup: the join keys the requested views need."
input FeatureEntityRow {
${joinKeys.map((k) => `  ${k}: ID`).join('\n')}
}

type JoinKeyValue {
  name: String!
  value: ID!
}

type FeatureVector {
  entity: [JoinKeyValue!]!
  features: [Feature!]!
}

type FeatureDefinition {
  name: String!
  dtype: String!
  description: String
}

type Tag {
  key: String!
  value: String!
}

type FeatureView {
  name: String!
  version: Int!
  versions: [Int!]!
  domain: String!
  owner: String!
  description: String!
  entities: [String!]!
  joinKeys: [String!]!
  ttlSeconds: Int!
  features: [FeatureDefinition!]!
  tags: [Tag!]!
  createdAt: DateTime!
  "Everything up to this event time is in the online store this server reads."
  materializedUntil: DateTime
}

type FeatureService {
  name: String!
  version: Int!
  domain: String!
  owner: String
  description: String
  "Pinned references, view@vN:feature."
  features: [String!]!
}

type Query {
  "Feature vectors for entity rows (at most ${MAX_ENTITY_ROWS}), by references or a feature service, in one read of ` +
    `the online store."
  onlineFeatures(features: [String!], service: String, entities: [FeatureEntityRow!]!, fullFeatureNames: Boolean = ` +
    `false): [FeatureVector!]! @cost(weight: 1) @listSize(assumedSize: 100)
  featureViews: [FeatureView!]!
  featureView(name: String!, version: Int): FeatureView
  featureServices: [FeatureService!]!
}
`
  );
}

const FeatureScalar = new GraphQLScalarType({
  name: 'FeatureScalar',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
    if (ast.kind === Kind.STRING || ast.kind === Kind.BOOLEAN) return ast.value;
    throw new GraphQLError('FeatureScalar is an Int, Float, String or Boolean');
  },
});

function viewInfo(registry: Registry, online: OnlineStore, v: ViewVersion) {
  const until = registry.materialization[online.url]?.[tableId(v)]?.watermark;
  return {
    ...v,
    versions: registry.views[v.name]!.map((x) => x.version),
    tags: Object.entries(v.tags).map(([key, value]) => ({ key, value })),
    materializedUntil: until ?? null,
  };
}

type FeatureArgs = { names?: string[]; service?: string; fullNames?: boolean };
// What a view answers when the online store did not: the value withheld.
const NO_ANSWER = null;

const withheld = () =>
  new MeshError(ErrorCode.ONLINE_STORE_ERROR, 'the online store did not answer: the value is withheld');

/**
 * One entity's online values for the requested features, in request order. The references are resolved once per field
 * of the operation (an operation over 100 entities asks the same thing 100 times: same field node, same variables); the
 * reads of all entities are batched by the request's loader. One object per value, which GraphQL reads as it is.
 */
async function entityAnswers(
  ctx: FeatureContext,
  e: Registry['entities'][string],
  parent: Record<string, unknown>,
  args: FeatureArgs,
  info: GraphQLResolveInfo,
): Promise<FeatureCell[]> {
  // The field sits on one entity type (no interface declares it), so its node names the entity too.
  let resolved = ctx.resolved.get(info.fieldNodes[0]!);
  if (!resolved) {
    resolved = resolveFeatures(ctx.registry, {
      features: args.names,
      service: args.service,
      fullFeatureNames: args.fullNames,
    });
    for (const v of resolved.views) {
      if (v.view.entities.join() !== e.name)
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `feature view ${tableId(v.view)} is keyed by ${v.view.entities.join(', ')}, not ${e.name}`,
        );
    }
    ctx.resolved.set(info.fieldNodes[0]!, resolved);
  }
  const row = Object.fromEntries(e.joinKeys.map((k) => [k, parent[e.graphql!.keyField]]));
  const records = await Promise.all(
    resolved.views.map((v) =>
      ctx.loader.load({ table: tableId(v.view), key: keyFor(v, row) }).catch((err: unknown) => {
        if (!isMeshError(err) || err.code !== ErrorCode.ONLINE_STORE_ERROR) throw err;
        return NO_ANSWER;
      }),
    ),
  );
  const now = ctx.now();
  const answers = resolved.order.map((o): FeatureCell => {
    const record = records[o.view];
    const v = resolved.views[o.view]!;
    return record === NO_ANSWER
      ? new FeatureCell(v.outputNames[o.feature]!, withheld(), 'INVALID', null)
      : cellOf(v, o.feature, record, now);
  });
  ctx.metrics.countServed([answers.map((a) => a.status)], 'graphql');
  return answers;
}

export function featureResolvers(registry: Registry) {
  const entityResolvers = Object.fromEntries(
    Object.values(registry.entities)
      .filter((e) => e.graphql)
      .map((e) => {
        // Both shapes are read from the same answers: one object per value, or one list per field of `FeatureValues`.
        const answers = (
          parent: Record<string, unknown>,
          args: FeatureArgs,
          ctx: FeatureContext,
          info: GraphQLResolveInfo,
        ) => entityAnswers(ctx, e, parent, args, info);
        return [
          e.graphql!.type,
          {
            __resolveReference: (ref: Record<string, unknown>) => ref,
            features: answers,
            featureValues: answers,
            modelScore: async (parent: Record<string, unknown>, args: { model: string }, ctx: FeatureContext) => {
              const model = await ctx.models.get(args.model);
              return scoreEntity(
                ctx,
                ctx.registry,
                model,
                Object.fromEntries(e.joinKeys.map((k) => [k, parent[e.graphql!.keyField]])),
              );
            },
          },
        ];
      }),
  );
  return {
    DateTime,
    FeatureScalar,
    FeatureValues: {
      names: (answers: FeatureCell[]) => answers.map((a) => a.name),
      values: (answers: FeatureCell[]) => answers.map((a) => a.value),
      statuses: (answers: FeatureCell[]) => answers.map((a) => a.status),
      eventTimestamps: (answers: FeatureCell[]) => answers.map((a) => a.eventTimestamp),
    },
    ...entityResolvers,
    Query: {
      onlineFeatures: async (
        _: unknown,
        args: {
          features?: string[];
          service?: string;
          entities: Record<string, unknown>[];
          fullFeatureNames?: boolean;
        },
        ctx: FeatureContext,
      ) => {
        if (args.entities.length > MAX_ENTITY_ROWS)
          throw new MeshError(
            ErrorCode.BAD_USER_INPUT,
            `at most ${MAX_ENTITY_ROWS} entity rows per call (got ${args.entities.length}); use a training set for ` +
              `more`,
          );
        const resolved = resolveFeatures(ctx.registry, {
          features: args.features,
          service: args.service,
          fullFeatureNames: args.fullFeatureNames,
        });
        if (resolved.names.length > MAX_FEATURES)
          throw new MeshError(
            ErrorCode.BAD_USER_INPUT,
            `at most ${MAX_FEATURES} features per call (got ${resolved.names.length})`,
          );
        const values = args.entities.length * resolved.names.length;
        if (values > MAX_VALUES)
          throw new MeshError(
            ErrorCode.BAD_USER_INPUT,
            `at most ${MAX_VALUES} values per call (entity rows x features, got ${values}): split the entities`,
          );
        const { columns } = await readColumnsOrInvalid(ctx.online, resolved, args.entities, ctx.now());
        ctx.metrics.countServed(
          columns.map((c) => c.statuses),
          'graphql',
        );
        return args.entities.map((row, i) => ({
          entity: resolved.joinKeys.map((k) => ({ name: k, value: row[k] })),
          features: columns.map(
            (c, j) =>
              new FeatureCell(
                resolved.names[j]!,
                c.statuses[i] === 'INVALID' ? withheld() : c.values[i],
                c.statuses[i]!,
                c.eventTs[i]!,
              ),
          ),
        }));
      },
      featureViews: (_: unknown, __: unknown, ctx: FeatureContext) =>
        currentViews(ctx.registry).map((v) => viewInfo(ctx.registry, ctx.online, v)),
      featureView: (_: unknown, args: { name: string; version?: number }, ctx: FeatureContext) => {
        const versions = Object.hasOwn(ctx.registry.views, args.name) ? ctx.registry.views[args.name] : undefined;
        const v = args.version === undefined ? versions?.at(-1) : versions?.find((x) => x.version === args.version);
        return v ? viewInfo(ctx.registry, ctx.online, v) : null;
      },
      featureServices: (_: unknown, __: unknown, ctx: FeatureContext) =>
        Object.values(ctx.registry.services).map((versions) => versions.at(-1)!),
    },
  };
}
