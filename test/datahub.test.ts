import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshPlatform } from '../lineage/index.js';
import { dataHubProposals, emitToDataHub, type Proposal } from '../lineage/index.js';
import { listDomains } from '../platform/domains.js';
import { generateMarketplace } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { airflowDags, loadSchedules } from '../jobs/index.js';
import { applyFeatures, computeFeatures } from '../feature-subgraph/featureStore.js';
import { materialize } from '../feature-subgraph/materialize.js';
import { createOnlineStore } from '../feature-subgraph/online/index.js';
import { trainRepurchase } from '../feature-subgraph/models/repurchase.js';
import { startMesh, EXAMPLE_QUERY, type RunningMesh } from '../gateway/inProcessMesh.js';
import { bearer, gql } from '../platform/test/helpers.js';
import { REPO_ROOT } from '../platform/config.js';
import { SMALL } from '../jobs/test/helpers.js';
import { testMeshPlatform } from '../lineage/test/helpers.js';
import { DataHubModel, urnParts } from './datahubModel.js';

// Vendored (test/specs.test.ts holds it equal to ../shared/specs), so the check runs wherever the suite does.
const SPECS = path.join(REPO_ROOT, 'test', 'specs', 'datahub');

/**
 * Two aspects the mesh emits whose PDL is not among the reference files (../shared/specs/datahub lists what it holds):
 * their required fields as DataHub's documentation states them. Nothing else may go unchecked.
 */
const UNLISTED: Record<string, { required: string[]; optional: string[] }> = {
  tagProperties: { required: ['name'], optional: ['description', 'colorHex'] },
  glossaryTermInfo: {
    required: ['definition', 'termSource'],
    optional: ['id', 'name', 'parentNode', 'sourceRef', 'sourceUrl', 'customProperties', 'rawSchema'],
  },
};
/** Fields DataHub added after these files were taken (their README lists them): a value may carry them. */
const NEWER = new Set([
  'MLModelProperties.name',
  'MLModelProperties.created',
  'MLModelProperties.lastModified',
  'Owner.attribution',
]);
/** Urns that are DataHub's own: its system actor. */
const SYSTEM = new Set(['urn:li:corpuser:datahub']);

let platform: MeshPlatform;
let mesh: RunningMesh;
let proposals: Proposal[];
let model: DataHubModel;
let trained: Awaited<ReturnType<typeof trainRepurchase>>;

beforeAll(async () => {
  platform = testMeshPlatform();
  // Long enough a history to train the model on (its label looks 30 days ahead, after warm-up and a gap).
  await generateMarketplace(platform.store, { ...SMALL, scale: 0.1, days: 75 });
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
  await computeFeatures(platform);
  const online = createOnlineStore(platform.config.online);
  await materialize(platform, online, { incremental: true, end: new Date(SMALL.end) });
  await online.close();
  trained = await trainRepurchase(platform, { warmupDays: 14, gapDays: 14 });
  mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
  for (const role of ['analyst', 'sales-owner', 'analyst']) {
    const auth = { ...(await bearer(platform, role)), 'apollographql-client-name': 'crm-ui' };
    expect((await gql(mesh.gateway.url, EXAMPLE_QUERY, { id: 'c-0000001' }, auth)).status).toBe(200);
    expect((await fetch(`${mesh.gateway.url}/sales/v1/customers/c-0000001`, { headers: auth })).status).toBe(200);
  }
  mesh.gateway.lineage!.flush();
  await platform.lineage.emitter.flush();
  proposals = await dataHubProposals(platform, { minOperationExecutions: 2 });
  model = new DataHubModel(SPECS);
});
afterAll(async () => mesh?.close());

/** Where a proposal does not fit DataHub's model: its entity, aspect, urn and record. */
function conformance(p: Proposal): string[] {
  const where = `${p.entityType} ${p.entityUrn} ${p.aspectName}`;
  const entity = model.entities.get(p.entityType);
  if (!entity) return [`${where}: no entity type ${p.entityType}`];
  if (!entity.aspects.has(p.aspectName)) return [`${where}: ${p.entityType} has no aspect ${p.aspectName}`];
  if (p.changeType !== 'UPSERT') return [`${where}: change type ${p.changeType}`];
  const out: string[] = [];
  const urn = urnParts(p.entityUrn);
  if (!urn || urn.entityType !== p.entityType) out.push(`${where}: the urn is no ${p.entityType} urn`);
  const key = model.aspects.get(entity.keyAspect);
  if (urn && key) {
    const fields = model.fieldsOf(key);
    if (fields.length !== urn.parts.length)
      out.push(`${where}: ${fields.length} key fields, ${urn.parts.length} in the urn`);
    else
      fields.forEach((f, i) => {
        const part = urn.parts[i]!;
        out.push(
          ...model
            .check(f.type.kind === 'primitive' ? part : part, f.type, `${where} key ${f.name}`)
            .filter((x) => !/expected (int|long)/.test(x)),
        );
      });
  }
  const record = model.aspects.get(p.aspectName);
  if (record) return [...out, ...model.check(p.aspect.json, { kind: 'ref', name: record }, where, NEWER)];
  const unlisted = UNLISTED[p.aspectName];
  if (!unlisted)
    return [...out, `${where}: no PDL for ${p.aspectName}, and it is not one of the aspects checked by hand`];
  for (const f of unlisted.required) if (typeof p.aspect.json[f] !== 'string') out.push(`${where}.${f}: required`);
  for (const f of Object.keys(p.aspect.json))
    if (!unlisted.required.includes(f) && !unlisted.optional.includes(f)) out.push(`${where}.${f}: unknown field`);
  return out;
}

/** Every urn a proposal's aspect names. */
function referenced(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string' && value.startsWith('urn:li:')) out.add(value);
  else if (Array.isArray(value)) for (const v of value) referenced(v, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      referenced(k, out);
      referenced(v, out);
    }
  return out;
}

const aspect = <T>(urn: string, name: string) =>
  proposals.find((p) => p.entityUrn === urn && p.aspectName === name)?.aspect.json as T | undefined;
const DS = (name: string) => `urn:li:dataset:(urn:li:dataPlatform:mesh,${name},PROD)`;
const FIELD = (ds: string, f: string) => `urn:li:schemaField:(${DS(ds)},${f})`;

describe("DataHub proposals against DataHub's own model", () => {
  it('every proposal names an aspect its entity type has, with a urn of its key and a record that fits its PDL', () => {
    const problems = proposals.flatMap(conformance);
    expect(problems).toEqual([]);
    const byType = new Map<string, number>();
    for (const p of proposals) byType.set(p.entityType, (byType.get(p.entityType) ?? 0) + 1);
    console.log(
      `DataHub: ${proposals.length} proposals on ${new Set(proposals.map((p) => p.entityUrn)).size} entities ` +
        `(${[...byType].map(([t, n]) => `${t} ${n}`).join(', ')}), ` +
        `${new Set(proposals.map((p) => p.aspectName)).size} aspects, every one checked`,
    );
    expect(new Set(proposals.map((p) => p.entityType))).toEqual(
      new Set([
        'dataPlatform',
        'domain',
        'dataProduct',
        'dataset',
        'dataFlow',
        'dataJob',
        'mlFeatureTable',
        'mlFeature',
        'mlPrimaryKey',
        'mlModel',
        'mlModelGroup',
        'glossaryTerm',
        'tag',
        'corpuser',
        'corpGroup',
      ]),
    );
  });

  it('a planted unknown aspect, missing required field, wrong enum or wrong urn type fails the check', () => {
    const schema = proposals.find((p) => p.aspectName === 'schemaMetadata')!;
    const plants: [Proposal, RegExp][] = [
      [{ ...schema, aspectName: 'schemaMetadataa' }, /has no aspect schemaMetadataa/],
      [{ ...schema, aspect: { json: { ...schema.aspect.json, hash: undefined } } }, /hash: required by/],
      [
        {
          ...schema,
          aspectName: 'ownership',
          aspect: { json: { owners: [{ owner: 'urn:li:corpuser:x', type: 'DATAOWNERS' }] } },
        },
        /"DATAOWNERS" is not a com.linkedin.common.OwnershipType symbol/,
      ],
      [
        {
          ...schema,
          aspectName: 'upstreamLineage',
          aspect: { json: { upstreams: [{ dataset: 'urn:li:tag:x', type: 'TRANSFORMED' }] } },
        },
        /a tag urn where dataset is expected/,
      ],
      [{ ...schema, entityUrn: 'urn:li:dataset:(urn:li:dataPlatform:mesh,x)' }, /3 key fields, 2 in the urn/],
      [
        { ...schema, aspectName: 'tagProperties', entityType: 'tag', entityUrn: 'urn:li:tag:x', aspect: { json: {} } },
        /name: required/,
      ],
    ];
    for (const [planted, expected] of plants) expect(conformance(planted).join('\n')).toMatch(expected);
  });

  it('the graph is closed: every urn named is emitted, a field of an emitted schema, or DataHub’s own', () => {
    const emitted = new Set(proposals.map((p) => p.entityUrn));
    const fields = new Set<string>();
    for (const p of proposals.filter((x) => x.aspectName === 'schemaMetadata'))
      for (const f of (p.aspect.json as { fields: { fieldPath: string }[] }).fields)
        fields.add(`urn:li:schemaField:(${p.entityUrn},${f.fieldPath})`);
    const dangling = [...new Set(proposals.flatMap((p) => [...referenced(p.aspect.json)]))].filter(
      (u) => !emitted.has(u) && !fields.has(u) && !SYSTEM.has(u),
    );
    expect(dangling).toEqual([]);
  });
});

describe('what a DataHub user finds', () => {
  it('every dataset lineage names is there, raw sources included, with schema, owners, domain, subtype', async () => {
    const named = new Set((await platform.lineage.graph.edges()).flatMap((e) => [e.from.name, e.to.name]));
    const datasets = new Set(proposals.filter((p) => p.entityType === 'dataset').map((p) => p.entityUrn));
    expect([...named].filter((n) => !datasets.has(DS(n)) && !n.startsWith('models.'))).toEqual([]);
    for (const urn of datasets) {
      expect(aspect(urn, 'schemaMetadata'), urn).toBeDefined();
      expect(aspect<{ typeNames: string[] }>(urn, 'subTypes')?.typeNames, urn).toHaveLength(1);
    }
    expect(aspect<{ typeNames: string[] }>(DS('fulfillment/raw/carrier_events'), 'subTypes')!.typeNames).toEqual([
      'Raw Source',
    ]);
    expect(aspect<{ domains: string[] }>(DS('fulfillment/raw/carrier_events'), 'domains')!.domains).toEqual([
      'urn:li:domain:fulfillment',
    ]);
    const product = aspect<{ assets: { destinationUrn: string }[] }>(
      'urn:li:dataProduct:fulfillment',
      'dataProductProperties',
    )!;
    expect(product.assets.map((a) => a.destinationUrn)).toEqual(
      expect.arrayContaining([DS('fulfillment/raw/carrier_events'), DS('fulfillment.shipments')]),
    );
  });

  it('owners are current types: the team a technical owner, the contract’s Owner the business owner', () => {
    const owners = aspect<{ owners: { owner: string; type: string }[] }>(DS('sales.customers'), 'ownership')!.owners;
    expect(owners).toEqual([
      { owner: 'urn:li:corpGroup:sales-data', type: 'TECHNICAL_OWNER' },
      { owner: 'urn:li:corpuser:ana.sales', type: 'BUSINESS_OWNER' },
      { owner: 'urn:li:corpuser:ben.sales', type: 'TECHNICAL_OWNER' },
    ]);
    expect(JSON.stringify(proposals)).not.toContain('DATAOWNER');
  });

  it('PII fields carry their kind as a tag and their handling as glossary terms from policy.yaml', () => {
    const fieldOf = (ds: string, f: string) =>
      aspect<{
        fields: {
          fieldPath: string;
          globalTags?: { tags: { tag: string }[] };
          glossaryTerms?: { terms: { urn: string }[] };
        }[];
      }>(DS(ds), 'schemaMetadata')!.fields.find((x) => x.fieldPath === f)!;
    const marks = (ds: string, f: string) => {
      const field = fieldOf(ds, f);
      return [
        ...(field.globalTags?.tags.map((t) => t.tag) ?? []),
        ...(field.glossaryTerms?.terms.map((t) => t.urn) ?? []),
      ];
    };
    expect(marks('sales.customers', 'email')).toEqual([
      'urn:li:tag:pii:email',
      'urn:li:glossaryTerm:mesh.pii.classification.restricted',
      'urn:li:glossaryTerm:mesh.pii.tokenized',
    ]);
    expect(marks('payments.payments', 'card_last4')).toEqual(
      expect.arrayContaining(['urn:li:tag:pii:card', 'urn:li:glossaryTerm:mesh.pii.denied']),
    );
    // In the raw source the value is in clear: restricted.
    expect(marks('fulfillment/raw/carrier_events', 'recipient.address_line')).toEqual(
      expect.arrayContaining(['urn:li:glossaryTerm:mesh.pii.restricted']),
    );
    expect(marks('sales.customers', 'country')).toEqual([]);
    const term = aspect<{ definition: string }>('urn:li:glossaryTerm:mesh.pii.denied', 'glossaryTermInfo')!;
    expect(term.definition).toMatch(/card, postcode, phone_suffix/);
  });

  it('pipelines are the Airflow DAGs: a flow per domain, a job per source stage and per curated dataset', async () => {
    const flow = 'urn:li:dataFlow:(airflow,mesh_fulfillment,prod)';
    expect(aspect<{ name: string }>(flow, 'dataFlowInfo')!.name).toBe('mesh_fulfillment');
    const dags = airflowDags(loadSchedules(listDomains(platform.config.domainsDir)), {
      image: 'mesh:test',
      kubernetesNamespace: 'mesh',
      lineageNamespace: 'mesh',
      secretEnv: [],
    });
    expect(dags['mesh_fulfillment.py']).toContain('dag_id="mesh_fulfillment"');
    const jobs = proposals
      .filter((p) => p.aspectName === 'dataJobInfo' && p.entityUrn.includes(flow))
      .map((p) => p.entityUrn);
    expect(jobs.map((u) => u.slice(flow.length + 'urn:li:dataJob:('.length + 1, -1)).sort()).toEqual([
      'compute_customer_delivery',
      'curate_shipments',
      'curate_tracking_events',
      'materialize_customer_delivery',
      'stage_carrier_events',
    ]);
    const curate = `urn:li:dataJob:(${flow},curate_shipments)`;
    const io = aspect<{
      inputDatasets: string[];
      outputDatasets: string[];
      inputDatajobs: string[];
      inputDatasetFields: string[];
    }>(curate, 'dataJobInputOutput')!;
    expect(io.inputDatasets).toEqual([DS('fulfillment/raw/carrier_events')]);
    expect(io.outputDatasets).toEqual([DS('fulfillment.shipments')]);
    expect(io.inputDatajobs).toEqual([`urn:li:dataJob:(${flow},stage_carrier_events)`]);
    expect(io.inputDatasetFields).toContain(FIELD('fulfillment/raw/carrier_events', 'recipient.address_line'));
    expect(aspect<{ status: string }>(curate, 'dataJobInfo')!.status).toBe('COMPLETED');
  });

  it('the feature store and the model are ML entities: features sourced, the model’s metrics and version', () => {
    const table = aspect<{ mlFeatures: string[]; mlPrimaryKeys: string[] }>(
      'urn:li:mlFeatureTable:(urn:li:dataPlatform:mesh,customer_orders)',
      'mlFeatureTableProperties',
    )!;
    expect(table.mlPrimaryKeys).toEqual(['urn:li:mlPrimaryKey:(customer_orders,customer_id)']);
    expect(table.mlFeatures).toContain('urn:li:mlFeature:(customer_orders,total_spend_90d)');
    const feature = aspect<{ sources: string[]; version: { versionTag: string }; dataType: string }>(
      'urn:li:mlFeature:(customer_orders,total_spend_90d)',
      'mlFeatureProperties',
    )!;
    expect(feature).toMatchObject({
      sources: [DS('sales.orders')],
      version: { versionTag: '1' },
      dataType: 'CONTINUOUS',
    });
    const m = aspect<{
      trainingMetrics: { name: string; value: string }[];
      hyperParams: { name: string }[];
      version: { versionTag: string };
      mlFeatures: string[];
      groups: string[];
    }>('urn:li:mlModel:(urn:li:dataPlatform:mesh,repurchase@v1,PROD)', 'mlModelProperties')!;
    expect(m.version.versionTag).toBe('1');
    expect(m.trainingMetrics.map((x) => x.name)).toEqual(expect.arrayContaining(['auc', 'logLoss']));
    expect(Number(m.trainingMetrics.find((x) => x.name === 'auc')!.value)).toBe(trained.metrics.test.auc);
    expect(m.hyperParams.length).toBeGreaterThan(2);
    expect(m.mlFeatures).toHaveLength(18);
    expect(m.groups).toEqual(['urn:li:mlModelGroup:(urn:li:dataPlatform:mesh,repurchase,PROD)']);
  });

  it('lineage the catalog can walk: raw field → pipeline job → curated field → feature → model', () => {
    const fgl = (urn: string, aspectName: 'upstreamLineage' | 'dataJobInputOutput') =>
      aspect<{ fineGrainedLineages: { upstreams: string[]; downstreams: string[]; transformOperation: string }[] }>(
        urn,
        aspectName,
      )?.fineGrainedLineages ?? [];
    const jobs = proposals.filter((p) => p.aspectName === 'dataJobInputOutput');
    const paths: string[] = [];
    const m = aspect<{ mlFeatures: string[] }>(
      'urn:li:mlModel:(urn:li:dataPlatform:mesh,repurchase@v1,PROD)',
      'mlModelProperties',
    )!;
    for (const featureUrn of m.mlFeatures) {
      const [view, feature] = /^urn:li:mlFeature:\((.+),(.+)\)$/.exec(featureUrn)!.slice(1) as [string, string];
      const sources = aspect<{ sources: string[] }>(featureUrn, 'mlFeatureProperties')!.sources;
      // The curated fields the feature's column is computed from (its offline table's lineage).
      const curated = fgl(DS(`features.${view}@v1`), 'upstreamLineage')
        .filter(
          (l) =>
            l.downstreams.includes(FIELD(`features.${view}@v1`, feature)) && l.transformOperation.startsWith('DIRECT'),
        )
        .flatMap((l) => l.upstreams)
        .filter((u) => sources.some((s) => u.startsWith(`urn:li:schemaField:(${s},`)));
      for (const field of curated)
        for (const job of jobs)
          for (const l of fgl(job.entityUrn, 'dataJobInputOutput'))
            if (l.downstreams.includes(field) && l.transformOperation.startsWith('DIRECT'))
              for (const raw of l.upstreams.filter((u) => u.includes('/raw/')))
                paths.push(`${raw} → ${job.entityUrn} → ${field} → ${featureUrn} → repurchase@v1`);
    }
    expect(paths).toContain(
      `${FIELD('sales/raw/topics/sales.orders', 'total')} → ` +
        'urn:li:dataJob:(urn:li:dataFlow:(airflow,mesh_sales,prod),curate_orders) → ' +
        `${FIELD('sales.orders', 'total_eur')} → urn:li:mlFeature:(customer_orders,total_spend_90d) → repurchase@v1`,
    );
  });

  it('gateway operations name their subjects: REST endpoints, and GraphQL operations recorded often enough', () => {
    const flow = 'urn:li:dataFlow:(mesh,gateway,PROD)';
    const rest = aspect<{ inputDatasetFields: string[] }>(
      `urn:li:dataJob:(${flow},SalesCustomer)`,
      'dataJobInputOutput',
    )!;
    expect(rest.inputDatasetFields).toEqual(expect.arrayContaining([FIELD('sales.customers', 'email')]));
    expect(
      aspect<{ name: string; type: { string: string } }>(`urn:li:dataJob:(${flow},SalesCustomer)`, 'dataJobInfo'),
    ).toMatchObject({
      name: 'GET /sales/v1/customers/{id}',
      type: { string: 'REST_ENDPOINT' },
    });
    const overview = `urn:li:dataJob:(${flow},CustomerOverview)`;
    const io = aspect<{ outputDatasets: string[]; inputDatasets: string[] }>(overview, 'dataJobInputOutput')!;
    expect(io.outputDatasets[0]).toMatch(/^urn:li:dataset:\(urn:li:dataPlatform:mesh,operation\.CustomerOverview\./);
    expect(io.inputDatasets).toEqual(expect.arrayContaining([DS('sales.customers'), DS('fulfillment.shipments')]));
    expect(
      aspect<{ customProperties: { executions: string } }>(overview, 'dataJobInfo')!.customProperties.executions,
    ).toBe('3');
  });

  it('the same inputs give the same proposals, and --emit sends any text intact, its length in bytes', async () => {
    expect(await dataHubProposals(platform, { minOperationExecutions: 2 })).toEqual(proposals);
    const received: { length: number; body: Buffer }[] = [];
    const gms = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ length: Number(req.headers['content-length']), body: Buffer.concat(chunks) });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => gms.listen(0, '127.0.0.1', r));
    try {
      const text = 'Ventes — ventas, 販売, продажи 🛒';
      const planted: Proposal = {
        entityType: 'domain',
        entityUrn: 'urn:li:domain:sales',
        changeType: 'UPSERT',
        aspectName: 'domainProperties',
        aspect: { json: { name: 'sales', description: text } },
      };
      const url = { gmsUrl: `http://127.0.0.1:${(gms.address() as AddressInfo).port}` };
      await emitToDataHub(url, [planted]);
      await emitToDataHub(url, [planted]);
      expect(received).toHaveLength(2);
      expect(received[0]!.length).toBe(received[0]!.body.length);
      const sent = JSON.parse(received[0]!.body.toString('utf8')) as { proposal: { aspect: { value: string } } };
      expect((JSON.parse(sent.proposal.aspect.value) as { description: string }).description).toBe(text);
      expect(received[1]!.body.equals(received[0]!.body)).toBe(true);
    } finally {
      gms.close();
    }
  });

  it('emits to GMS with ingestProposal, the Rest.li protocol header and a bearer token', async () => {
    const seen: {
      url?: string;
      headers: http.IncomingHttpHeaders;
      body: { proposal: { aspectName: string; aspect: { value: string; contentType: string } } };
    }[] = [];
    const gms = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url, headers: req.headers, body: JSON.parse(body) });
        // Refuses the seventh proposal, as a GMS under maintenance would.
        if (seen.length === 7) return void res.writeHead(503).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":"ok"}');
      });
    });
    await new Promise<void>((r) => gms.listen(0, '127.0.0.1', r));
    try {
      const first = proposals.slice(0, 5);
      expect(
        await emitToDataHub(
          { gmsUrl: `http://127.0.0.1:${(gms.address() as AddressInfo).port}`, token: 'dh-token' },
          first,
        ),
      ).toBe(5);
      expect(seen).toHaveLength(5);
      expect(seen[0]).toMatchObject({
        url: '/aspects?action=ingestProposal',
        headers: { 'x-restli-protocol-version': '2.0.0', authorization: 'Bearer dh-token' },
      });
      expect(JSON.parse(seen[0]!.body.proposal.aspect.value)).toEqual(first[0]!.aspect.json);
      expect(seen[0]!.body.proposal.aspect.contentType).toBe('application/json');
      // A refusal stops the emission; what was accepted before it is counted (the CLI reports it as job metrics).
      const progress = { sent: 0 };
      await expect(
        emitToDataHub({ gmsUrl: `http://127.0.0.1:${(gms.address() as AddressInfo).port}` }, first, progress),
      ).rejects.toThrow(/refused .* HTTP 503/);
      expect(progress.sent).toBe(1);
    } finally {
      await new Promise<void>((r) => gms.close(() => r()));
    }
  });
});
