import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { type MeshPlatform } from '../../lineage/platformLineage.js';
import { listDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { startSubgraph } from '../../products/subgraph/domainSubgraph.js';
import { piiGuard } from '../../governance/piiGuard.js';
import { startMesh, type RunningMesh } from '../inProcessMesh.js';
import { MESH_DATA } from './mesh.js';
import { checkSchema, type CheckReport } from '../../governance/schema-registry/check.js';
import { publishSchema, rollbackSchema } from '../../governance/schema-registry/publish.js';
import { SchemaRegistry } from '../../governance/schema-registry/registry.js';
import { EventSchemaRegistry } from '../../governance/schema-registry/events.js';
import { eventSchemaCandidates } from '../../jobs/pipeline/eventCodec.js';
import { meshPlatform } from '../../lineage/test/helpers.js';
import { bearer, gql, copyDomains, tempDir } from '../../platform/test/helpers.js';
import { supergraphConfigFor } from '../../governance/test/helpers.js';

/** Who the tests publish as: the registry records it with each version. */
const TEST_PUBLISHER = { commit: 'abc123', author: 'schema-tests@mesh.example' };
let platform: MeshPlatform;
let mesh: RunningMesh;
let domains: ReturnType<typeof copyDomains>;
const cleanups: (() => void)[] = [];
const salesDir = () => path.join(domains.dir, 'sales');
const salesSdl = () => fs.readFileSync(path.join(salesDir(), 'schema.graphql'), 'utf8');
const setVersion = (version: string, changelog?: string) => {
  fs.writeFileSync(
    path.join(salesDir(), 'package.json'),
    JSON.stringify({ name: '@mesh/sales', version, private: true, type: 'module' }),
  );
  // Dated: a new major deprecates the REST endpoints of the previous one from that date.
  if (changelog)
    fs.appendFileSync(path.join(salesDir(), 'CHANGELOG.md'), `\n## ${version} (2026-12-01)\n- ${changelog}\n`);
};
const step = (r: CheckReport, name: string) => r.steps.find((s) => s.name === name)!;

beforeAll(async () => {
  domains = copyDomains();
  // The story starts from sales 1.0.0, whatever version the checkout is at.
  setVersion('1.0.0');
  const dataDir = tempDir();
  const base = { MESH_DATA_DIR: dataDir, MESH_DOMAINS_DIR: domains.dir, MESH_LOG_LEVEL: 'silent' };
  const boot = meshPlatform(loadConfig(base));
  await generateMarketplace(boot.store, MESH_DATA);
  for (const d of listDomains(boot.config.domainsDir)) await runDomainPipeline(boot, d);
  mesh = await startMesh(boot, { gatewayPort: 0, randomPorts: true });
  // The registry routes to the subgraphs actually running, with schema files in the private copy of the domains.
  platform = meshPlatform(
    loadConfig({ ...base, MESH_SUPERGRAPH_CONFIG: supergraphConfigFor(mesh.subgraphs, domains.dir) }),
    boot.store,
  );
  for (const s of mesh.subgraphs)
    expect((await publishSchema(platform, { subgraph: s.name, publisher: TEST_PUBLISHER })).published.seq).toBe(1);
  // Real traffic: the storefront reads signupDate; nobody reads phone.
  const res = await gql(
    mesh.gateway.url,
    'query CustomerSince($id: ID!) { customer(id: $id) { id signupDate } }',
    { id: 'c-0000001' },
    { ...(await bearer(platform, 'analyst')), 'apollographql-client-name': 'storefront' },
  );
  expect(res.body.errors).toBeUndefined();
  await mesh.gateway.usage!.flush();
});

afterAll(async () => {
  await mesh?.close();
  domains?.remove();
  for (const c of cleanups) c();
});

describe('schema checks', () => {
  it('a composition error fails with its code', async () => {
    const r = await checkSchema(platform, {
      subgraph: 'sales',
      sdl: salesSdl().replace(
        'type Customer @key(fields: "id") {\n  id: ID!',
        'type Customer @key(fields: "id") {\n  id: Int!',
      ),
    });
    expect(r.ok).toBe(false);
    expect(step(r, 'composition').ok).toBe(false);
    expect(step(r, 'composition').problems.join()).toMatch(/FIELD_TYPE_MISMATCH/);
  });

  it(
    'removing a field a recorded operation uses fails and names the operation and client; excluding the client lets ' +
      'it pass that step',
    async () => {
      setVersion('2.0.0', 'remove Customer.signupDate');
      const sdl = salesSdl().replace(/\n\s*signupDate: String\n/, '\n');
      const r = await checkSchema(platform, { subgraph: 'sales', sdl });
      expect(r.ok).toBe(false);
      expect(step(r, 'operations').ok).toBe(false);
      const removal = r.changes.find((c) => c.path === 'Customer.signupDate')!;
      expect(removal.criticality).toBe('BREAKING');
      expect(removal.usedBy).toEqual([
        expect.objectContaining({ operation: 'CustomerSince', client: 'storefront', count: 1 }),
      ]);
      expect(step(r, 'operations').problems[0]).toMatch(/CustomerSince \(storefront, 1x/);
      expect(step(r, 'versioning').problems).toContain(
        'Customer.signupDate is removed without a prior deprecation: publish it with @deprecated first',
      );
      const excluded = await checkSchema(platform, { subgraph: 'sales', sdl, excludeClients: ['storefront'] });
      expect(step(excluded, 'operations').ok).toBe(true);
    },
  );

  it('adding a field passes; a version that does not grow fails', async () => {
    const sdl = salesSdl().replace(
      '  segment: String!\n',
      '  segment: String!\n  "Loyalty programme tier."\n  loyaltyTier: String\n',
    );
    setVersion('1.0.0');
    const same = await checkSchema(platform, { subgraph: 'sales', sdl });
    expect(same.changes.map((c) => [c.criticality, c.type])).toEqual([
      ['SAFE', 'FIELD_ADDED'],
      ['SAFE', 'FIELD_DESCRIPTION_ADDED'],
    ]);
    expect(step(same, 'versioning').problems).toEqual(['version 1.0.0 must be greater than the published 1.0.0']);
    setVersion('1.1.0');
    expect((await checkSchema(platform, { subgraph: 'sales', sdl })).ok).toBe(true);
  });

  it('removing an unused deprecated field passes, with a major version and a changelog entry', async () => {
    setVersion('1.1.0');
    const deprecated = salesSdl().replace(
      'phone: String @pii(kind: "phone")',
      'phone: String @pii(kind: "phone") @deprecated(reason: "ask the CRM")',
    );
    const first = await publishSchema(platform, { subgraph: 'sales', sdl: deprecated, publisher: TEST_PUBLISHER });
    expect(first.report.changes.map((c) => c.criticality)).not.toContain('BREAKING');
    const removed = deprecated.replace(
      /\n\s*phone: String @pii\(kind: "phone"\) @deprecated\(reason: "ask the CRM"\)/,
      '',
    );
    setVersion('1.2.0');
    const minor = await checkSchema(platform, { subgraph: 'sales', sdl: removed });
    expect(step(minor, 'operations').ok).toBe(true);
    expect(step(minor, 'versioning').problems).toEqual([
      'breaking changes need a major version (1.1.0 → 2.0.0)',
      'breaking changes need a CHANGELOG.md entry "## 1.2.0"',
    ]);
    setVersion('3.0.0', 'remove the deprecated Customer.phone');
    const major = await checkSchema(platform, { subgraph: 'sales', sdl: removed });
    expect(major.ok).toBe(true);
    expect(major.changes.find((c) => c.path === 'Customer.phone')).toMatchObject({
      criticality: 'BREAKING',
      usedBy: [],
    });
  });

  it('contract changes are classified in one run: a removed property breaks, an optional one is safe', async () => {
    const contractFile = path.join(salesDir(), 'contract.odcs.yaml');
    const original = fs.readFileSync(contractFile, 'utf8');
    try {
      fs.writeFileSync(
        contractFile,
        original
          .replace(/\n\s*- \{ name: phone,[^\n]*\}/, '')
          .replace(
            '- { name: signup_date, logicalType: date, classification: internal }',
            '- { name: signup_date, logicalType: date, classification: internal }\n      - { name: referral_code, ' +
              'logicalType: string, classification: internal }',
          ),
      );
      const r = await checkSchema(platform, { subgraph: 'sales', sdl: salesSdl() });
      const contract = r.changes.filter((c) => c.source === 'contract');
      expect(contract).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ criticality: 'BREAKING', path: 'customers.phone' }),
          expect.objectContaining({ criticality: 'SAFE', path: 'customers.referral_code' }),
        ]),
      );
      expect(step(r, 'contract').problems[0]).toMatch(
        /breaking contract changes need a major contract version \(1\.0\.0 → 2\.0\.0\)/,
      );
    } finally {
      fs.writeFileSync(contractFile, original);
    }
  });
});

describe('publish, hot reload, log, rollback', () => {
  it('a published field is served by the running gateway without a restart or a failed request', async () => {
    // The sales team ships code and schema: a new field with its resolver, deployed by restarting the subgraph
    // (from a new checkout: a module is loaded once per path in a process).
    const release = copyDomains();
    cleanups.push(release.remove);
    const sdl = salesSdl().replace(
      '  segment: String!\n',
      '  segment: String!\n  "ISO country code in lower case."\n  countryCode: String\n',
    );
    fs.writeFileSync(path.join(release.dir, 'sales', 'schema.graphql'), sdl);
    const resolvers = path.join(release.dir, 'sales', 'resolvers.ts');
    fs.writeFileSync(
      resolvers,
      fs
        .readFileSync(resolvers, 'utf8')
        .replace(
          '    Customer: {\n',
          '    Customer: {\n      countryCode: (c: Customer) => String(c.country).toLowerCase(),\n',
        ),
    );
    const old = mesh.subgraphs.find((s) => s.name === 'sales')!;
    await old.close();
    const restarted = await startSubgraph(platform, listDomains(release.dir).find((d) => d.name === 'sales')!, {
      port: old.port,
      guard: piiGuard(listDomains(release.dir)),
    });
    mesh.subgraphs[mesh.subgraphs.indexOf(old)] = restarted;

    const auth = await bearer(platform, 'analyst');
    const before = await gql(mesh.gateway.url, '{ customer(id: "c-0000001") { countryCode } }', {}, auth);
    expect(before.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop)
        statuses.push(
          (
            await gql(
              mesh.gateway.url,
              '{ customer(id: "c-0000002") { id country orders(first: 1) { id } } }',
              {},
              auth,
            )
          ).status,
        );
    })();
    setVersion('3.1.0');
    const { published } = await publishSchema(platform, { subgraph: 'sales', sdl, publisher: TEST_PUBLISHER });
    expect(published.version).toBe('3.1.0');
    let after;
    for (let i = 0; i < 100; i++) {
      after = await gql<{ customer: { countryCode: string } }>(
        mesh.gateway.url,
        '{ customer(id: "c-0000001") { countryCode } }',
        {},
        auth,
      );
      if (!after.body.errors) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await load;
    expect(after!.body.data!.customer.countryCode).toMatch(/^[a-z]{2}$/);
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('log lists every version; rollback republishes an earlier one through the same checks', async () => {
    const registry = new SchemaRegistry(platform);
    const log = await registry.log('sales');
    expect(log.map((v) => v.version)).toEqual(['1.0.0', '1.1.0', '3.1.0']);
    expect(log.every((v) => v.author === TEST_PUBLISHER.author && v.gitCommit === TEST_PUBLISHER.commit)).toBe(true);
    expect(log.every((v) => v.publishedAt && v.contractVersion === '1.0.0')).toBe(true);
    // Back to 1.1.0: countryCode disappears, and nothing recorded uses it... but phone is still deprecated there.
    const { published, report } = await rollbackSchema(platform, 'sales', '2', { publisher: TEST_PUBLISHER });
    expect(published).toMatchObject({ seq: 4, version: '1.1.0', rollbackOf: 2 });
    expect(report.changes.find((c) => c.path === 'Customer.countryCode')?.criticality).toBe('BREAKING');
    expect((await registry.current('sales'))!.sdl).toBe((await registry.get('sales', 2)).sdl);
  });

  it('a change breaking a published REST endpoint fails, naming it, whatever the traffic and version', async () => {
    // Nobody's recorded traffic reads segment, and the major grows: only the REST contract stands in the way.
    setVersion('4.0.0', 'segment may be unknown');
    const r = await checkSchema(platform, {
      subgraph: 'sales',
      sdl: salesSdl().replace('  segment: String!\n', '  segment: String\n'),
    });
    expect(step(r, 'operations').ok).toBe(true);
    expect(step(r, 'versioning').ok).toBe(true);
    expect(r.ok).toBe(false);
    const rest = step(r, 'rest');
    expect(rest.problems).toContain(
      'GET /sales/v1/customers/{id} (SalesCustomer, sales/api/v1/customer.graphql): data.segment: was string, now ' +
        'string or null',
    );
    expect(rest.problems.join('\n')).toMatch(
      /GET \/sales\/v1\/customers \(SalesCustomers, .*\): data\[\]\.segment: was string, now string or null/,
    );
    expect(r.changes).toContainEqual(
      expect.objectContaining({
        criticality: 'BREAKING',
        path: 'GET /sales/v1/customers/{id}',
        type: 'REST_ENDPOINT_BROKEN',
      }),
    );
    // Another domain's change that breaks sales' cross-domain resource names that resource.
    const catalogSdl = fs
      .readFileSync(path.join(domains.dir, 'catalog', 'schema.graphql'), 'utf8')
      .replace(/\n\s*brand: String\n/, '\n');
    const c = await checkSchema(platform, { subgraph: 'catalog', sdl: catalogSdl });
    expect(c.ok).toBe(false);
    expect(step(c, 'rest').problems.join('\n')).toContain(
      'GET /sales/v1/customers/{id}/overview (SalesCustomerOverview, sales/api/v1/customer-overview.graphql): ' +
        'the operation no longer validates: Cannot query field "brand" on type "Product"',
    );
    // Adding a field is safe for every endpoint.
    const added = await checkSchema(platform, {
      subgraph: 'sales',
      sdl: salesSdl().replace('  segment: String!\n', '  segment: String!\n  loyaltyTier: String\n'),
    });
    expect(step(added, 'rest')).toMatchObject({ ok: true, problems: [] });
  });
});

describe('event schemas of the streams, checked and registered with the subgraph', () => {
  it('refuses an incompatible Avro change naming the field; registers a compatible one as the next', async () => {
    const file = path.join(salesDir(), 'events', 'order_events.avsc');
    const original = fs.readFileSync(file, 'utf8');
    const sales = () => listDomains(domains.dir).find((d) => d.name === 'sales')!;
    const withField = (field: Record<string, unknown>) => {
      const schema = JSON.parse(original) as { fields: unknown[] };
      fs.writeFileSync(file, JSON.stringify({ ...schema, fields: [...schema.fields, field] }));
    };
    const events = new EventSchemaRegistry(platform);
    try {
      const first = await publishSchema(platform, {
        subgraph: 'sales',
        publisher: TEST_PUBLISHER,
        events: eventSchemaCandidates(sales()),
      });
      expect(step(first.report, 'events')).toMatchObject({ ok: true, problems: [] });
      const [v1] = await events.versions('sales.order_events-value');
      expect(v1).toMatchObject({ version: 1 });
      // BACKWARD: consumers on the new schema must read what was written before; a new field needs a default.
      withField({ name: 'coupon_code', type: 'string' });
      const refused = await checkSchema(platform, { subgraph: 'sales', events: eventSchemaCandidates(sales()) });
      expect(refused.ok).toBe(false);
      expect(step(refused, 'events').problems).toEqual([
        'sales.order_events-value (BACKWARD): backward: field "coupon_code" is read but not written, and has no ' +
          'default',
      ]);
      withField({ name: 'coupon_code', type: ['null', 'string'], default: null });
      const accepted = await publishSchema(platform, {
        subgraph: 'sales',
        publisher: TEST_PUBLISHER,
        events: eventSchemaCandidates(sales()),
      });
      expect(step(accepted.report, 'events').ok).toBe(true);
      const versions = await events.versions('sales.order_events-value');
      expect(versions.map((v) => v.version)).toEqual([1, 2]);
      expect(versions[1]!.id).toBeGreaterThan(v1!.id);
      expect(await events.byId(versions[1]!.id)).toEqual(versions[1]);
      // A type change consumers cannot read, inside a nested record.
      fs.writeFileSync(
        file,
        original.replace(
          '{ "name": "quantity", "type": ["null", "int"]',
          '{ "name": "quantity", "type": ["null", "boolean"]',
        ),
      );
      const retyped = await checkSchema(platform, { subgraph: 'sales', events: eventSchemaCandidates(sales()) });
      expect(step(retyped, 'events').problems.join('\n')).toMatch(/field "items"/);
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});
