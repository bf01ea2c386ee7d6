import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, gql, metricValue } from '../../platform/test/helpers.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { materialize } from '../../feature-subgraph/index.js';
import { SqliteOnlineStore } from '../../feature-subgraph/online/index.js';
import { withFeatures } from '../../feature-subgraph/test/helpers.js';
import type { MeshPlatform } from '../../lineage/index.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';
import { startMesh } from '../inProcessMesh.js';

// The feature store as analysts and ML code meet it: beside the domains' data, through the gateway.
const END = new Date(SMALL.end);
let platform: MeshPlatform;

beforeAll(async () => {
  platform = await withFeatures(testMeshPlatform());
});

describe('features beside domain data through the gateway', () => {
  it('an analyst gets masked PII and online features of customers in one request, one fetch per subgraph', async () => {
    const online = new SqliteOnlineStore(platform.config.online.kind === 'sqlite' ? platform.config.online.file : '');
    await materialize(platform, online, { incremental: true, end: END });
    await online.close();
    const { gateway, features, close } = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
    const before = Date.now();
    try {
      const res = await gql<{
        customers: {
          edges: {
            node: { id: string; email: string; features: { name: string; status: string; value: unknown }[] };
          }[];
        };
      }>(
        gateway.url,
        `{ customers(first: 10) { edges { node { id email features(service: "customer_repurchase") { name value ` +
          `status } } } } }`,
        {},
        await bearer(platform, 'analyst'),
      );
      expect(res.body.errors).toBeUndefined();
      const nodes = res.body.data!.customers.edges.map((e) => e.node);
      expect(nodes).toHaveLength(10);
      expect(nodes.every((n) => n.email.startsWith('tok_'))).toBe(true);
      expect(nodes[0]!.features).toHaveLength(18);
      expect(nodes.flatMap((n) => n.features).filter((f) => f.status === 'PRESENT').length).toBeGreaterThan(100);
      expect(JSON.parse(res.headers.get('x-mesh-subgraph-fetches')!)).toEqual({ sales: 1, features: 1 });

      const vectors = await gql<{
        onlineFeatures: { entity: { name: string; value: string }[]; features: { name: string; status: string }[] }[];
      }>(
        gateway.url,
        `query($e: [FeatureEntityRow!]!) { onlineFeatures(features: ["product_pricing:price", ` +
          `"product_returns:return_rate_90d"], entities: $e) { entity { name value } features { name value status } ` +
          `} }`,
        { e: [{ product_id: 'p-000001' }, { product_id: 'p-missing' }] },
        await bearer(platform, 'ml-engineer'),
      );
      expect(vectors.body.errors).toBeUndefined();
      expect(vectors.body.data!.onlineFeatures[0]!.entity).toEqual([{ name: 'product_id', value: 'p-000001' }]);
      expect(vectors.body.data!.onlineFeatures[0]!.features.map((f) => f.status)).toEqual(['PRESENT', 'PRESENT']);
      expect(vectors.body.data!.onlineFeatures[1]!.features.map((f) => f.status)).toEqual(['NOT_FOUND', 'NOT_FOUND']);

      // Staleness as served: the oldest customer_orders value of the read is at least as old as the data's end.
      const metrics = await (await fetch(`${features!.url}/metrics`)).text();
      expect(metricValue(metrics, 'mesh_feature_value_age_seconds_count', { view: 'customer_orders@v1' })).toBe(1);
      expect(
        metricValue(metrics, 'mesh_feature_value_age_seconds_sum', { view: 'customer_orders@v1' }),
      ).toBeGreaterThanOrEqual((before - END.getTime()) / 1000);
      expect(
        metricValue(metrics, 'mesh_online_store_lookups_total', { view: 'product_pricing@v1', result: 'miss' }),
      ).toBe(1);
      expect(
        metricValue(metrics, 'mesh_feature_values_served_total', { status: 'NOT_FOUND', api: 'graphql' }),
      ).toBeGreaterThanOrEqual(2);
    } finally {
      await close();
    }
  });
});
