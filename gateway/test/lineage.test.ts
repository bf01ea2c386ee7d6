import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshPlatform } from '../../lineage/index.js';
import { listDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { applyFeatures, computeFeatures } from '../../feature-subgraph/featureStore.js';
import { materialize } from '../../feature-subgraph/materialize.js';
import { SqliteOnlineStore } from '../../feature-subgraph/online/index.js';
import { startMesh, EXAMPLE_QUERY, type RunningMesh } from '../inProcessMesh.js';
import { openLineageValidator } from '../../platform/test/openLineage.js';
import { costAllocation } from '../../observability/cost.js';
import type { RunEvent } from '../../platform/openlineage.js';
import { bearer, gql, freePort, tempDir } from '../../platform/test/helpers.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';

/** A local OpenLineage endpoint that records what it receives (or refuses it while `down`). */
async function receiver(port = 0) {
  const events: RunEvent[] = [];
  const auth: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      auth.push(req.headers.authorization);
      if (req.url !== '/api/v1/lineage') return void res.writeHead(404).end();
      events.push(JSON.parse(body) as RunEvent);
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    events,
    auth,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let platform: MeshPlatform;
let mesh: RunningMesh;
let endpoint: Awaited<ReturnType<typeof receiver>>;
let onlineFile: string;

beforeAll(async () => {
  endpoint = await receiver();
  platform = testMeshPlatform({
    OPENLINEAGE_URL: `http://127.0.0.1:${endpoint.port}`,
    OPENLINEAGE_API_KEY: 'secret-key',
    MESH_LINEAGE_FILE: path.join(tempDir(), 'events.jsonl'),
  });
  await generateMarketplace(platform.store, SMALL);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
  await computeFeatures(platform, { views: ['customer_orders'] });
  onlineFile = path.join(tempDir(), 'online.sqlite');
  const online = new SqliteOnlineStore(onlineFile);
  await materialize(platform, online, { incremental: true, end: new Date(SMALL.end), views: ['customer_orders'] });
  await online.close();
  mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
  for (const role of ['analyst', 'admin', 'analyst']) {
    const res = await gql(
      mesh.gateway.url,
      EXAMPLE_QUERY,
      { id: 'c-0000001' },
      { ...(await bearer(platform, role)), 'apollographql-client-name': 'crm-ui' },
    );
    expect(res.status).toBe(200);
  }
  mesh.gateway.lineage!.flush();
  await platform.lineage.emitter.flush();
});

afterAll(async () => {
  await mesh?.close();
  await endpoint?.close();
});

describe('OpenLineage events', () => {
  it('every kind of event reaches OPENLINEAGE_URL with the API key, and is valid against the spec', () => {
    const jobs = new Set(endpoint.events.map((e) => `${e.job.name.split('.')[0]}:${e.eventType}`));
    expect(jobs).toEqual(
      new Set(['pipeline:START', 'pipeline:COMPLETE', 'quality:COMPLETE', 'features:COMPLETE', 'gateway:COMPLETE']),
    );
    expect(endpoint.auth.every((a) => a === 'Bearer secret-key')).toBe(true);
    const validate = openLineageValidator();
    const errors = endpoint.events.flatMap((e) => validate(e).map((m) => `${e.job.name} ${e.eventType}: ${m}`));
    expect(errors).toEqual([]);
    expect(validate({ ...endpoint.events[0]!, run: { runId: 'not-a-uuid' } }).join()).toMatch(
      /runId must match format "uuid"/,
    );
    // A facet whose schema is unknown fails, it does not pass unchecked.
    const unknownFacet = {
      ...endpoint.events[0]!,
      run: {
        ...endpoint.events[0]!.run,
        facets: { mystery: { _producer: 'x', _schemaURL: 'https://example.com/Mystery.json' } },
      },
    };
    expect(validate(unknownFacet).join()).toMatch(/run\.mystery: no schema https:\/\/example\.com\/Mystery\.json/);
    const badStats = endpoint.events.find((e) => e.run.facets?.mesh_operationStats)!;
    expect(
      validate({
        ...badStats,
        run: {
          ...badStats.run,
          facets: { mesh_operationStats: { ...badStats.run.facets!.mesh_operationStats!, count: 'many' } },
        },
      }).join(),
    ).toMatch(/count must be integer/);
  });

  it('pipeline runs carry schema, column lineage with masking for PII, and quality assertions as input facets', () => {
    const sales = endpoint.events.find((e) => e.job.name === 'pipeline.sales' && e.eventType === 'COMPLETE')!;
    const customers = sales.outputs.find((o) => o.name === 'sales.customers')!;
    const email = (
      customers.facets!.columnLineage as unknown as {
        fields: Record<string, { inputFields: { name: string; transformations: { masking?: boolean }[] }[] }>;
      }
    ).fields.email!;
    expect(email.inputFields[0]).toMatchObject({
      name: 'sales/raw/crm/customers',
      transformations: [{ masking: true }],
    });
    const quality = endpoint.events.find((e) => e.job.name === 'quality.sales')!;
    expect(quality.run.facets!.parent).toMatchObject({ run: { runId: sales.run.runId } });
    const assertions = (
      quality.inputs.find((i) => i.name === 'sales.orders')!.inputFacets!.dataQualityAssertions as unknown as {
        assertions: { success: boolean }[];
      }
    ).assertions;
    expect(assertions.length).toBeGreaterThan(3);
  });

  it(
    'a cross-domain query reaches curated columns of every domain it touched, with JOIN edges on entity keys, ' +
      'aggregated per client and role',
    () => {
      const ops = endpoint.events.filter((e) => e.job.name === 'gateway.CustomerOverview');
      expect(
        ops.map((e) => (e.run.facets!.mesh_operationStats as unknown as { role: string; count: number }).role).sort(),
      ).toEqual(['admin', 'analyst']);
      const analyst = ops.find(
        (e) => (e.run.facets!.mesh_operationStats as unknown as { role: string }).role === 'analyst',
      )!;
      expect(analyst.run.facets!.mesh_operationStats as unknown as { count: number; client: string }).toMatchObject({
        count: 2,
        client: 'crm-ui',
      });
      const lineage = analyst.outputs[0]!.facets!.columnLineage as unknown as {
        fields: Record<
          string,
          { inputFields: { name: string; field: string; transformations: { masking?: boolean }[] }[] }
        >;
        dataset: { name: string; field: string; transformations: { subtype: string }[] }[];
      };
      const domains = new Set(
        Object.values(lineage.fields).flatMap((f) => f.inputFields.map((i) => i.name.split('.')[0])),
      );
      expect(domains).toEqual(new Set(['sales', 'catalog', 'fulfillment', 'payments', 'campaigns']));
      expect(lineage.fields['customer.email']!.inputFields).toEqual([
        expect.objectContaining({
          name: 'sales.customers',
          field: 'email',
          transformations: [expect.objectContaining({ masking: true })],
        }),
      ]);
      expect(lineage.fields['customer.orders.shipments.carrier']!.inputFields[0]).toMatchObject({
        name: 'fulfillment.shipments',
        field: 'carrier',
      });
      expect(lineage.dataset).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            name: 'sales.orders',
            field: 'order_id',
            transformations: [expect.objectContaining({ subtype: 'JOIN' })],
          }),
          expect.objectContaining({ name: 'fulfillment.shipments', field: 'order_id' }),
        ]),
      );
    },
  );
});

describe('the lineage graph', () => {
  it('lists the operations, clients and roles that read sales customer email, masked or not', async () => {
    const readers = await platform.lineage.graph.readers('sales.customers', 'email');
    expect(readers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          operation: 'gateway.CustomerOverview',
          client: 'crm-ui',
          role: 'analyst',
          masked: true,
          count: 2,
        }),
        expect.objectContaining({
          operation: 'gateway.CustomerOverview',
          client: 'crm-ui',
          role: 'admin',
          masked: false,
          count: 1,
        }),
      ]),
    );
  });

  it(
    'walks upstream from a gateway field to raw sources, and downstream from a curated column to features and the ' +
      'online store',
    async () => {
      const op = endpoint.events.find((e) => e.job.name === 'gateway.CustomerOverview')!.outputs[0]!.name;
      const up = await platform.lineage.graph.upstream(op, 'customer.email');
      expect(up).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'sales.customers', field: 'email', depth: 1 }),
          expect.objectContaining({ name: 'sales/raw/crm/customers', field: 'email', depth: 2 }),
        ]),
      );
      const down = await platform.lineage.graph.downstream('sales.orders', 'total_eur');
      expect(down).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'features.customer_orders@v1', field: 'total_spend_90d' }),
          expect.objectContaining({ name: 'customer_orders@v1', field: 'total_spend_90d' }),
        ]),
      );
      // Only the features computed from it, derived from the view's SQL: not every column the SQL names.
      expect(
        down
          .filter((n) => n.name === 'features.customer_orders@v1')
          .map((n) => n.field)
          .sort(),
      ).toEqual(['avg_order_value_90d', 'total_spend_90d']);
      // And a PII column computed from a nested raw field keeps its way back, masked.
      const shipments = endpoint.events
        .find((e) => e.job.name === 'pipeline.fulfillment' && e.eventType === 'COMPLETE')!
        .outputs.find((o) => o.name === 'fulfillment.shipments')!;
      const facet = shipments.facets!.columnLineage as unknown as {
        fields: Record<string, { inputFields: unknown[] }>;
      };
      expect(facet.fields.address_line!.inputFields).toEqual([
        {
          namespace: expect.any(String),
          name: 'fulfillment/raw/carrier_events',
          field: 'event_time',
          transformations: [{ type: 'INDIRECT', subtype: 'SORT' }],
        },
        {
          namespace: expect.any(String),
          name: 'fulfillment/raw/carrier_events',
          field: 'recipient.address_line',
          transformations: [{ type: 'DIRECT', subtype: 'AGGREGATION', masking: true }],
        },
      ]);
      // Upstream: the field, the event time choosing the label event, and what decides every row (quarantine, key).
      const raw = await platform.lineage.graph.upstream('fulfillment.shipments', 'address_line');
      expect(new Set(raw.map((n) => n.name))).toEqual(new Set(['fulfillment/raw/carrier_events']));
      expect(raw.map((n) => n.field).sort()).toEqual(
        ['carrier', 'event_id', 'event_time', 'order_id', 'recipient.address_line', 'shipment_id', 'status'].sort(),
      );
    },
  );
});

describe('the metadata subgraph', () => {
  it('answers catalog and lineage questions through the gateway', async () => {
    const res = await gql<{
      dataProduct: {
        owner: string;
        contractVersion: string;
        quality: { passed: number; total: number };
        datasets: { name: string }[];
        consumers: { job: string; clients: string[] }[];
      };
      columnReaders: { operation: string; role: string; masked: boolean }[];
    }>(
      mesh.gateway.url,
      '{ dataProduct(domain: "sales") { owner contractVersion quality { passed total } datasets { name } consumers { ' +
        'job clients } } columnReaders(dataset: "sales.customers", column: "email") { operation role masked } }',
      {},
      await bearer(platform, 'analyst'),
    );
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data!.dataProduct;
    expect(p).toMatchObject({ owner: 'sales-data', contractVersion: '1.0.0' });
    expect(p.quality.passed).toBe(p.quality.total);
    expect(p.datasets.map((d) => d.name)).toEqual(['customers', 'orders', 'order_items', 'returns']);
    expect(p.consumers).toEqual(
      expect.arrayContaining([
        { job: 'gateway.CustomerOverview', clients: ['crm-ui'] },
        expect.objectContaining({ job: 'features.compute.customer_orders@v1' }),
      ]),
    );
    expect(res.body.data!.columnReaders).toEqual(
      expect.arrayContaining([{ operation: 'gateway.CustomerOverview', role: 'analyst', masked: true }]),
    );
  });
});

describe('cost allocation', () => {
  it('splits storage by domain and layer; counts pipeline compute, operations served and online keys', async () => {
    const online = new SqliteOnlineStore(onlineFile);
    try {
      const rows = await costAllocation(platform, { since: new Date(0), online });
      expect(rows.map((r) => r.domain)).toEqual([
        'campaigns',
        'catalog',
        'fulfillment',
        'payments',
        'sales',
        'platform',
      ]);
      const sales = rows.find((r) => r.domain === 'sales')!;
      expect(Object.keys(sales.storageBytes)).toEqual(
        expect.arrayContaining(['raw', 'curated', 'restricted', 'quarantine', 'features']),
      );
      expect(sales.computeSeconds).toBeGreaterThan(0);
      expect(sales.operations).toBe(3); // CustomerOverview: twice as analyst, once as admin
      expect(rows.find((r) => r.domain === 'fulfillment')!.operations).toBe(3);
      expect(sales.onlineKeys).toBeGreaterThan(100); // customer_orders is a sales view
      expect(rows.find((r) => r.domain === 'payments')!.onlineKeys).toBe(0);
      expect(sales.cost.total).toBeCloseTo(
        sales.cost.storage + sales.cost.compute + sales.cost.queries + sales.cost.online,
        12,
      );
      const objects = (await platform.store.list('sales/')).reduce((n, o) => n + o.size, 0);
      expect(Object.values(sales.storageBytes).reduce((a, b) => a + b, 0)).toBe(objects);
    } finally {
      await online.close();
    }
  });
});

describe('an unreachable endpoint', () => {
  it('loses no event: they are spooled on disk and delivered once the endpoint is back', async () => {
    const port = await freePort();
    const p = testMeshPlatform({ OPENLINEAGE_URL: `http://127.0.0.1:${port}` });
    for (let i = 0; i < 25; i++) p.lineage.emit(endpoint.events[i % endpoint.events.length]!);
    await p.lineage.emitter.flush();
    expect(p.lineage.emitter.snapshot()).toMatchObject({ emitted: 25, sent: { graph: 25 }, spooled: { http: 25 } });
    const back = await receiver(port);
    try {
      await p.lineage.emitter.flush();
      expect(back.events).toHaveLength(25);
      expect(p.lineage.emitter.snapshot().resent).toEqual({ http: 25 });
    } finally {
      await back.close();
    }
  });
});
