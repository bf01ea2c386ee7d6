/**
 * The floor under the features subgraph in bench/features.ts: a subgraph on the same stack (serveSubgraph: Apollo,
 * graphql-jit, the signed identity, metrics) whose `Customer.features` answers fresh values from memory, one object per
 * feature, without reading an online store. What the features subgraph takes above it is its own work: the read, the
 * decoding and the statuses.
 *
 *   tsx bench/featureGraphFloor.ts <port> <features per entity>     (MESH_DATA_DIR: the bench's, for the same keys)
 */
import { GraphQLScalarType } from 'graphql';
import { loadConfig } from '../platform/config.js';
import { Metrics } from '../platform/index.js';
import { serveSubgraph } from '../products/index.js';
import { createMeshPlatform } from '../cli/platform.js';

const [port, perEntity] = [Number(process.argv[2]), Number(process.argv[3])];
const platform = createMeshPlatform(loadConfig());
// The features subgraph's Customer.features and Feature, as featureSubgraphSdl writes them.
const sdl =
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
scalar DateTime
scalar FeatureScalar
enum FeatureStatus { PRESENT NULL_VALUE NOT_FOUND OUTSIDE_MAX_AGE INVALID }
type Feature { name: String! value: FeatureScalar status: FeatureStatus! eventTimestamp: DateTime }
type Customer @key(fields: "id") { id: ID! features(names: [String!], service: String, fullNames: Boolean = false): ` +
  `[Feature!]! }`;
const names = Array.from({ length: perEntity }, (_, i) => `f${i}`);
const at = new Date();

await serveSubgraph(platform, {
  name: 'features',
  version: 'floor',
  sdl,
  resolvers: {
    FeatureScalar: new GraphQLScalarType({ name: 'FeatureScalar', serialize: (v) => v }),
    Customer: {
      __resolveReference: (representation: { id: string }) => representation,
      // Asynchronous, as a read would be; the values are new per request, as the features subgraph's are.
      features: async () =>
        names.map((name) => ({ name, value: Math.random() * 1000, status: 'PRESENT', eventTimestamp: at })),
    },
  },
  port,
  metrics: new Metrics('feature-graph-floor'),
  knownRole: () => true,
  context: (identity) => ({ identity }),
});
