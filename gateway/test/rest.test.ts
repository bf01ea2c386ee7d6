import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import type { MeshPlatform } from '../../lineage/index.js';
import { listDomains } from '../../platform/domains.js';
import { sqlString } from '../../platform/duckdb.js';
import { loadContract } from '../../governance/contracts/load.js';
import { isPiiClassification, loadPolicy } from '../../governance/policy.js';
import { readUsage } from '../../governance/schema-registry/usage.js';
import { meshForTests } from './mesh.js';
import type { RunningMesh } from '../inProcessMesh.js';
import { startGateway } from '../server.js';
import { bearer, tempDir } from '../../platform/test/helpers.js';
import { queryCurated } from '../../products/test/helpers.js';

type Doc = {
  paths: Record<string, { get: Operation }>;
  info: Record<string, unknown>;
  components: Record<string, unknown>;
};
type Operation = {
  operationId: string;
  tags: string[];
  parameters: { name: string; in: string; required: boolean }[];
  responses: Record<string, { content?: Record<string, { schema: object }>; headers?: Record<string, unknown> }>;
  'x-resource-kind': string;
};

let platform: MeshPlatform;
let mesh: RunningMesh;
let lineageFile: string;
/** Every operation of the mesh document, by operationId, with its path. */
let operations: Map<string, Operation & { path: string }>;
let ids: Record<string, string>;
const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }));
const DOMAINS = ['campaigns', 'catalog', 'fulfillment', 'payments', 'sales'];

beforeAll(async () => {
  lineageFile = path.join(tempDir(), 'lineage.jsonl');
  ({ platform, mesh } = await meshForTests(undefined, { MESH_LINEAGE_FILE: lineageFile }));
  // A customer every domain knows (orders, shipments, card payments, campaign touches), and one id of each entity.
  const [row] = await queryCurated<{
    customer_id: string;
    shipment_id: string;
    payment_id: string;
    product_id: string;
    campaign_id: string;
  }>(
    platform,
    `SELECT o.customer_id, min(s.shipment_id) AS shipment_id, min(p.payment_id) AS payment_id, min(i.product_id) AS
      product_id, min(t.campaign_id) AS campaign_id
     FROM o JOIN p USING (order_id) JOIN r USING (payment_id) JOIN s USING (order_id) JOIN i USING (order_id) JOIN t
       ON t.customer_id = o.customer_id
     WHERE r.card_last4 IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    {
      o: ['sales', 'orders'],
      p: ['payments', 'payments'],
      r: ['payments', 'payments', 'restricted'],
      s: ['fulfillment', 'shipments'],
      i: ['sales', 'order_items'],
      t: ['campaigns', 'campaign_touches'],
    },
  );
  ids = {
    customer: row!.customer_id,
    shipment: row!.shipment_id,
    payment: row!.payment_id,
    product: row!.product_id,
    campaign: row!.campaign_id,
  };
  // Dereferenced, so each response schema stands alone for ajv.
  const doc = (await SwaggerParser.dereference(
    (await (await fetch(`${mesh.gateway.url}/openapi.json`)).json()) as never,
  )) as unknown as Doc;
  operations = new Map(Object.entries(doc.paths).map(([p, item]) => [item.get.operationId, { ...item.get, path: p }]));
});
afterAll(async () => mesh?.close());

/** The parameters each endpoint is called with; the test fails if an endpoint has none here. */
const CALLS: Record<
  string,
  (ids: Record<string, string>) => { path?: Record<string, string>; query?: Record<string, string> }
> = {
  SalesCustomer: (i) => ({ path: { id: i.customer! } }),
  SalesCustomers: () => ({ query: { first: '5' } }),
  SalesDailyRevenue: () => ({ query: { from: '2026-10-01', to: '2026-10-31' } }),
  SalesCustomerOverview: (i) => ({ path: { id: i.customer! } }),
  FulfillmentShipment: (i) => ({ path: { id: i.shipment! } }),
  FulfillmentShipments: () => ({ query: { first: '5' } }),
  FulfillmentDeliveryPerformance: () => ({ query: { from: '2026-09-01' } }),
  CatalogProduct: (i) => ({ path: { id: i.product! } }),
  CatalogProducts: () => ({ query: { first: '5' } }),
  CatalogCategorySummary: () => ({}),
  CampaignsCampaign: (i) => ({ path: { id: i.campaign! } }),
  CampaignsCampaigns: () => ({ query: { first: '5' } }),
  CampaignsPerformance: () => ({}),
  PaymentsPayment: (i) => ({ path: { id: i.payment! } }),
  PaymentsPayments: () => ({ query: { first: '5' } }),
  PaymentsSettlements: () => ({}),
};

function urlOf(
  op: Operation & { path: string },
  call: { path?: Record<string, string>; query?: Record<string, string> },
): string {
  const p = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(call.path![name]!));
  const q = new URLSearchParams(call.query ?? {}).toString();
  return `${mesh.gateway.url}${p}${q ? `?${q}` : ''}`;
}

async function get(url: string, role: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { ...(role ? await bearer(platform, role) : {}), ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Validates a response against what the document promises for its status and media type. */
function conforms(op: Operation, res: Awaited<ReturnType<typeof get>>, label: string) {
  const declared = op.responses[String(res.status)];
  expect(declared, `${label}: status ${res.status} is documented`).toBeDefined();
  const type = res.headers.get('content-type')?.split(';')[0];
  if (res.status === 304) return expect(res.text).toBe('');
  const media = declared!.content?.[type!];
  expect(media, `${label}: ${type} is documented for ${res.status}`).toBeDefined();
  if (type === 'text/csv') return csvConforms(op, res.text, label);
  const validate = ajv.compile(media!.schema);
  const ok = validate(res.json());
  expect(ok ? [] : validate.errors, `${label}: body matches the ${res.status} schema`).toEqual([]);
  for (const h of Object.keys(declared!.headers ?? {}).filter((h) =>
    ['ETag', 'Cache-Control', 'X-Request-Id'].includes(h),
  ))
    expect(res.headers.get(h), `${label}: header ${h}`).toBeTruthy();
}

type JsonSchema = { type?: string | string[]; anyOf?: JsonSchema[]; properties?: Record<string, JsonSchema> };

/** The documented schema of one dotted CSV column: the item schema's property at that path. */
function columnSchema(op: Operation, column: string): JsonSchema | undefined {
  const envelope = op.responses['200']!.content!['application/json']!.schema as JsonSchema;
  const data = envelope.properties!.data as JsonSchema & { items?: JsonSchema };
  let s: JsonSchema | undefined = data.items;
  for (const part of column.split('.')) s = (s?.anyOf?.find((b) => b.properties) ?? s)?.properties?.[part];
  return s;
}

const typesOf = (s: JsonSchema): string[] => (s.anyOf ? s.anyOf.flatMap(typesOf) : [s.type ?? []].flat());

/**
 * A CSV cell read back as the value its column's schema describes: empty is null where null is allowed, numbers and
 * booleans by their text, lists and objects as the JSON they are written as, and a formula-defusing quote undone.
 */
function cellValue(cell: string, schema: JsonSchema): unknown {
  const types = typesOf(schema);
  if (cell === '' && types.includes('null')) return null;
  if (types.includes('integer') || types.includes('number')) return /^-?\d/.test(cell) ? Number(cell) : cell;
  if (types.includes('boolean')) return cell === 'true' ? true : cell === 'false' ? false : cell;
  if (types.includes('array') || types.includes('object')) return JSON.parse(cell);
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/** An RFC 4180 body whose header is the documented columns and whose every cell satisfies its column's schema. */
function csvConforms(op: Operation, text: string, label: string): unknown[][] {
  const description = (op.responses['200']!.content!['text/csv']!.schema as { description: string }).description;
  const documented = description.replace(/^Columns: /, '').split(', ');
  const [header, ...rows] = parseCsv(text, { record_delimiter: '\r\n' }) as string[][];
  expect(header, `${label}: the CSV header is the documented columns`).toEqual(documented);
  const schemas = documented.map((c) => {
    const s = columnSchema(op, c);
    expect(s, `${label}: column ${c} is a field of the documented item`).toBeDefined();
    return { column: c, validate: ajv.compile(s!), schema: s! };
  });
  return rows.map((row, i) =>
    row.map((cell, j) => {
      const { column, validate, schema } = schemas[j]!;
      const value = cellValue(cell, schema);
      expect(validate(value) ? [] : validate.errors, `${label}: row ${i + 1}, ${column} = ${cell}`).toEqual([]);
      return value;
    }),
  );
}

/** The value at a dotted path of a JSON row, null where the row has none (as CSV writes it). */
function valueAt(row: unknown, dotted: string): unknown {
  let v = row;
  for (const part of dotted.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : null;
  return v ?? null;
}

describe('OpenAPI documents', () => {
  it('every domain document and the mesh document are valid OpenAPI 3.1, in JSON and YAML alike', async () => {
    for (const where of [...DOMAINS.map((d) => `/${d}/v1`), '']) {
      const json = (await (await fetch(`${mesh.gateway.url}${where}/openapi.json`)).json()) as Doc & {
        openapi: string;
      };
      const yaml = parseYaml(await (await fetch(`${mesh.gateway.url}${where}/openapi.yaml`)).text()) as unknown;
      expect(yaml, where).toEqual(json);
      expect(json.openapi).toBe('3.1.0');
      await expect(
        SwaggerParser.validate(structuredClone(json) as never),
        `${where}/openapi.json`,
      ).resolves.toBeTruthy();
      expect(Object.keys(json.paths).length, where).toBeGreaterThanOrEqual(where ? 3 : 16);
    }
    // A broken document is refused by the same validator: the check above can fail.
    const broken = (await (await fetch(`${mesh.gateway.url}/sales/v1/openapi.json`)).json()) as Doc;
    (broken.paths['/sales/v1/customers/{id}']!.get as unknown as Record<string, unknown>).responses = 'none';
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });

  it('each domain offers an entity, a paged list and an analytical resource; sales one across domains', () => {
    for (const d of DOMAINS) {
      const kinds = new Set([...operations.values()].filter((o) => o.tags[0] === d).map((o) => o['x-resource-kind']));
      expect([...kinds].sort(), d).toEqual(['collection', 'entity', 'list']);
    }
    expect(operations.get('SalesCustomerOverview')?.path).toBe('/sales/v1/customers/{id}/overview');
    expect(Object.keys(CALLS).sort()).toEqual([...operations.keys()].sort());
  });

  it('states owner, SLOs, PII per role, the bearer scheme and every error with its code', async () => {
    const doc = (await (await fetch(`${mesh.gateway.url}/sales/v1/openapi.json`)).json()) as Doc & {
      info: { contact: { name: string }; 'x-owner': { owners: string[] }; 'x-slo': Record<string, unknown> };
    };
    expect(doc.info.contact.name).toBe('sales-data');
    expect(doc.info['x-owner'].owners).toEqual(['ana.sales']);
    expect(doc.info['x-slo']).toMatchObject({
      freshness: { value: 24, unit: 'h' },
      'freshness.p99': { value: 15, unit: 'm', element: 'orders.placed_at' },
      availability: { value: 99.9, unit: 'percent' },
      schedule: '15 * * * *',
    });
    expect(doc.components).toMatchObject({
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    });
    const customer = doc.paths['/sales/v1/customers/{id}']!.get;
    const data = (
      customer.responses['200']!.content!['application/json']!.schema as {
        properties: { data: { properties: Record<string, Record<string, unknown>>; required: string[] } };
      }
    ).properties.data;
    expect(data.properties.email!['x-pii']).toMatchObject({
      kind: 'email',
      owner: 'sales',
      access: { analyst: 'masked', 'sales-owner': 'clear', 'payments-owner': 'masked', admin: 'clear' },
    });
    expect(data.properties.email!.type).toEqual(['string', 'null']);
    expect(data.required).toEqual(['id', 'name', 'email', 'country', 'segment', 'signupDate']);
    expect(data.properties.id!['x-source-columns']).toContain('sales.customers.customer_id');
    const payment = (await (await fetch(`${mesh.gateway.url}/payments/v1/openapi.json`)).json()) as Doc;
    const card = (
      payment.paths['/payments/v1/payments/{id}']!.get.responses['200']!.content!['application/json']!.schema as {
        properties: { data: { properties: Record<string, Record<string, unknown>> } };
      }
    ).properties.data.properties.cardLast4!;
    // Card endings are low-entropy: a role that would get a token is denied instead.
    expect(card['x-pii']).toMatchObject({ kind: 'card', access: { analyst: 'deny', 'payments-owner': 'clear' } });
    expect(Object.keys(customer.responses).sort()).toEqual([
      '200',
      '304',
      '400',
      '401',
      '403',
      '404',
      '405',
      '406',
      '429',
      '500',
      '502',
      '503',
      '504',
    ]);
    // Over budget: when to come back, and what it cost.
    expect(Object.keys(customer.responses['429']!.headers!)).toContain('Retry-After');
    expect(Object.keys(customer.responses['200']!.headers!)).toEqual(
      expect.arrayContaining(['X-Mesh-Query-Cost', 'RateLimit-Remaining']),
    );
  });
});

describe('every endpoint, as an analyst and as its owner, against its document', () => {
  it('answers 200 with a body, headers and pages as documented', async () => {
    for (const [name, op] of operations) {
      for (const role of ['analyst', `${op.tags[0]}-owner`]) {
        const res = await get(urlOf(op, CALLS[name]!(ids)), role);
        const label = `${name} as ${role}`;
        expect(res.status, `${label}: ${res.text.slice(0, 300)}`).toBe(200);
        conforms(op, res, label);
        expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
        expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
        const body = res.json() as { data: unknown; page?: { hasNextPage: boolean } };
        if (op['x-resource-kind'] === 'list') {
          expect((body.data as unknown[]).length, label).toBe(5);
          const next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
          expect(body.page?.hasNextPage && next, `${label}: a Link to the next page`).toBeTruthy();
          const page2 = await get(`${mesh.gateway.url}${next}`, role);
          expect(page2.status).toBe(200);
          const firstIds = (body.data as { id: string }[]).map((x) => x.id);
          expect(
            (page2.json().data as { id: string }[]).every((x) => !firstIds.includes(x.id) && x.id > firstIds.at(-1)!),
            `${label}: page 2 follows page 1`,
          ).toBe(true);
        }
      }
    }
  });

  it('a page of none (a count alone) ends where it began: following it goes on instead of starting over', async () => {
    const page1 = (await get(`${mesh.gateway.url}/sales/v1/customers?first=3`, 'analyst')).json() as {
      data: { id: string }[];
      page: { endCursor: string; hasNextPage: boolean; totalCount: number };
    };
    const empty = (
      await get(`${mesh.gateway.url}/sales/v1/customers?first=0&after=${page1.page.endCursor}`, 'analyst')
    ).json() as { data: unknown[]; page: { endCursor: string | null; hasNextPage: boolean; totalCount: number } };
    expect(empty.data).toEqual([]);
    expect(empty.page).toMatchObject({ hasNextPage: true, endCursor: page1.page.endCursor });
    const page2 = (
      await get(`${mesh.gateway.url}/sales/v1/customers?first=3&after=${empty.page.endCursor}`, 'analyst')
    ).json() as { data: { id: string }[] };
    expect(page2.data[0]!.id > page1.data.at(-1)!.id).toBe(true);
    // From the start, a page of none has no position to give: null, and following it is the first page.
    const start = (await get(`${mesh.gateway.url}/sales/v1/customers?first=0`, 'analyst')).json() as {
      page: { endCursor: string | null; totalCount: number };
    };
    expect(start.page).toMatchObject({ endCursor: null, totalCount: page1.page.totalCount });
  });

  it('serves lists and analytical resources as CSV, one row per item, the header from the operation', async () => {
    for (const [name, op] of operations) {
      if (op['x-resource-kind'] === 'entity') continue;
      const url = urlOf(op, CALLS[name]!(ids));
      const [csv, json] = [await get(url, 'analyst', { accept: 'text/csv' }), await get(url, 'analyst')];
      expect(csv.status, name).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      conforms(op, csv, name);
      // Cell for cell, the CSV holds what the JSON representation of the same resource holds.
      const columns = (parseCsv(csv.text, { record_delimiter: '\r\n', to_line: 1 }) as string[][])[0]!;
      const items = json.json().data as unknown[];
      expect(items.length, name).toBeGreaterThan(0);
      expect(csvConforms(op, csv.text, name)).toEqual(items.map((item) => columns.map((c) => valueAt(item, c))));
      expect(csv.headers.get('etag')).not.toBe(json.headers.get('etag'));
    }
    // A cell a spreadsheet would run as a formula is defused, and a column holding commas is quoted.
    const perf = await get(`${mesh.gateway.url}/campaigns/v1/performance`, 'analyst', { accept: 'text/csv' });
    expect(perf.text.split('\r\n')[0]).toBe(
      [
        'campaign.id',
        'campaign.name',
        'campaign.channel',
        'touches',
        'conversions',
        'conversionRate',
        'attributedOrders',
        'attributedRevenueEur',
        'roas',
      ].join(','),
    );
  });

  it('the same checks refuse a body that departs from its document, in JSON and in CSV', async () => {
    const op = operations.get('CampaignsPerformance')!;
    const url = urlOf(op, CALLS.CampaignsPerformance!(ids));
    const json = await get(url, 'analyst');
    const csv = await get(url, 'analyst', { accept: 'text/csv' });
    conforms(op, json, 'as served');
    conforms(op, csv, 'as served');
    const body = json.json() as { data: { touches: unknown }[] };
    body.data[0]!.touches = 'many';
    const text = JSON.stringify(body);
    expect(() => conforms(op, { ...json, text, json: () => JSON.parse(text) }, 'touches as text')).toThrow(
      /200 schema/,
    );
    const [header, first, ...rest] = csv.text.split('\r\n');
    const cells = first!.split(',');
    const touches = header!.split(',').indexOf('touches');
    const tampered = (line: string, h = header!) => ({ ...csv, text: [h, line, ...rest].join('\r\n') });
    expect(() => conforms(op, tampered(cells.with(touches, 'many').join(',')), 'touches as text')).toThrow(/touches/);
    expect(() => conforms(op, tampered(first!, header!.replace('touches', 'touch')), 'a renamed column')).toThrow(
      /header is the documented columns/,
    );
  });

  it('no raw value of any PII field reaches an analyst, while the owner gets the values compared against', async () => {
    const policy = loadPolicy();
    const clear = new Set<string>();
    for (const d of listDomains(platform.config.domainsDir)) {
      const contract = loadContract(d.contractFile, d.name);
      for (const dataset of contract.schema) {
        for (const prop of dataset.properties.filter((p) => isPiiClassification(policy, p.classification))) {
          const rows = await queryCurated<{ v: string }>(
            platform,
            `SELECT DISTINCT CAST(${prop.name} AS VARCHAR) AS v FROM r WHERE ${prop.name} IS NOT NULL`,
            { r: [d.name, dataset.name, 'restricted'] },
          );
          for (const r of rows) clear.add(r.v);
        }
      }
    }
    expect(clear.size).toBeGreaterThan(100);
    const strings = (v: unknown): string[] =>
      typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];
    let ownerSawClear = 0;
    for (const [name, op] of operations) {
      const url = urlOf(op, CALLS[name]!(ids));
      for (const accept of ['application/json', ...(op['x-resource-kind'] === 'entity' ? [] : ['text/csv'])]) {
        const res = await get(url, 'analyst', { accept });
        const values =
          accept === 'text/csv' ? res.text.split(/[\r\n,]+/).map((c) => c.replace(/^"|"$/g, '')) : strings(res.json());
        expect(
          values.filter((v) => clear.has(v)),
          `${name} (${accept}) as analyst`,
        ).toEqual([]);
      }
      ownerSawClear += strings((await get(url, `${op.tags[0]}-owner`)).json()).filter((v) => clear.has(v)).length;
    }
    expect(ownerSawClear).toBeGreaterThan(0);
    const [email] = await queryCurated<{ email: string }>(
      platform,
      `SELECT email FROM r WHERE customer_id = ${sqlString(ids.customer!)}`,
      { r: ['sales', 'customers', 'restricted'] },
    );
    const owner = (await get(`${mesh.gateway.url}/sales/v1/customers/${ids.customer}`, 'sales-owner')).json() as {
      data: { email: string };
    };
    expect(owner.data.email).toBe(email!.email);
  });

  it('a denied field is null with its code; the access report says which fields are tokens or withheld', async () => {
    const res = await get(`${mesh.gateway.url}/payments/v1/payments/${ids.payment}`, 'analyst');
    const body = res.json() as {
      data: { cardLast4: unknown };
      errors: { code: string; path: unknown[] }[];
      governance: { masked: string[]; withheld: string[] };
    };
    expect(body.data.cardLast4).toBeNull();
    expect(body.errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED_FIELD_OR_TYPE', path: ['cardLast4'] })]);
    expect(body.governance).toEqual({ role: 'analyst', masked: [], withheld: ['cardLast4'] });
    expect(res.headers.get('x-mesh-errors')).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const list = (await get(`${mesh.gateway.url}/sales/v1/customers?first=2`, 'analyst')).json() as {
      governance: { masked: string[] };
    };
    expect(list.governance.masked.sort()).toEqual(['email', 'name']);
  });
});

describe('errors are problem details with the mesh code and the request id', () => {
  const problems: [string, string | undefined, Record<string, string>, number, string][] = [];
  beforeAll(() => {
    problems.push(
      ['/sales/v1/customers?first=abc', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      ['/sales/v1/customers?frist=5', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      ['/sales/v1/customers?first=500', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      ['/sales/v1/customers?after=not-a-cursor', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      // A cursor that decodes to no position ("[]") is refused, not answered with a silent empty page.
      ['/sales/v1/customers?after=W10', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      ['/sales/v1/daily-revenue?from=yesterday&to=2026-10-31', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      ['/sales/v1/daily-revenue?to=2026-10-31', 'analyst', {}, 400, 'BAD_USER_INPUT'],
      [`/sales/v1/customers/${ids.customer}`, undefined, {}, 401, 'UNAUTHENTICATED'],
      // Who asks comes before what representation they accept.
      [`/sales/v1/customers/${ids.customer}`, undefined, { accept: 'application/xml' }, 401, 'UNAUTHENTICATED'],
      [`/sales/v1/customers/${ids.customer}`, 'stranger', {}, 403, 'FORBIDDEN'],
      ['/sales/v1/customers/c-does-not-exist', 'analyst', {}, 404, 'NOT_FOUND'],
      ['/payments/v1/payments/pay-none', 'payments-owner', {}, 404, 'NOT_FOUND'],
      [`/sales/v1/customers/${ids.customer}`, 'analyst', { accept: 'text/csv' }, 406, 'NOT_ACCEPTABLE'],
      ['/catalog/v1/products?first=2', 'analyst', { accept: 'application/xml' }, 406, 'NOT_ACCEPTABLE'],
    );
  });

  it('each documented error answers with its status, code and a body that matches the document', async () => {
    for (const [url, role, headers, status, code] of problems) {
      const res = await get(`${mesh.gateway.url}${url}`, role, headers);
      const label = `${url} as ${role ?? 'nobody'}`;
      expect(res.status, `${label}: ${res.text}`).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = res.json();
      expect(body, label).toMatchObject({
        status,
        code,
        requestId: res.headers.get('x-request-id'),
        type: `https://mesh.example/problems/${code.toLowerCase().replace(/_/g, '-')}`,
      });
      expect(String(body.detail)).not.toMatch(/SELECT|\/tmp\/|at .*\.ts:\d+/);
      const op = [...operations.values()].find((o) =>
        new RegExp(`^${o.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(url.split('?')[0]!),
      )!;
      conforms(op, res, label);
    }
    const bad = (await get(`${mesh.gateway.url}/sales/v1/customers?first=abc`, 'analyst')).json();
    expect(bad).toMatchObject({ parameter: 'first', detail: 'parameter "first" must be a 32-bit integer, got "abc"' });
    const unknown = await get(`${mesh.gateway.url}/sales/v1/nothing-here`, 'analyst');
    expect([unknown.status, unknown.json().code]).toEqual([404, 'NOT_FOUND']);
    const post = await fetch(`${mesh.gateway.url}/sales/v1/customers`, {
      method: 'POST',
      headers: await bearer(platform, 'analyst'),
    });
    expect([post.status, post.headers.get('allow'), ((await post.json()) as { code: string }).code]).toEqual([
      405,
      'GET, HEAD',
      'METHOD_NOT_ALLOWED',
    ]);
    const garbage = (await get(`${mesh.gateway.url}/sales/v1/customers?after=W10`, 'analyst')).json();
    expect(garbage).toMatchObject({ code: 'BAD_USER_INPUT', detail: expect.stringMatching(/^invalid cursor "W10"/) });
    // A client's own request id comes back, to tie its report to the gateway's log.
    const traced = await get(`${mesh.gateway.url}/sales/v1/customers/c-does-not-exist`, 'analyst', {
      'x-request-id': 'client-trace-0001',
    });
    expect([traced.headers.get('x-request-id'), traced.json().requestId]).toEqual([
      'client-trace-0001',
      'client-trace-0001',
    ]);
  });

  it('If-None-Match with the ETag gives 304; the ETag differs by role, parameters and representation', async () => {
    const url = `${mesh.gateway.url}/sales/v1/customers/${ids.customer}`;
    const first = await get(url, 'analyst');
    const tag = first.headers.get('etag')!;
    expect((await get(url, 'analyst')).headers.get('etag')).toBe(tag);
    const revalidated = await get(url, 'analyst', { 'if-none-match': tag });
    expect(revalidated.status).toBe(304);
    conforms(operations.get('SalesCustomer')!, revalidated, '304');
    expect(revalidated.headers.get('etag')).toBe(tag);
    expect((await get(url, 'analyst', { 'if-none-match': '"something-else"' })).status).toBe(200);
    // Masked and clear answers of one resource never share a validator.
    const owner = await get(url, 'sales-owner', { 'if-none-match': tag });
    expect(owner.status).toBe(200);
    expect(owner.headers.get('etag')).not.toBe(tag);
    expect(
      (
        await get(`${mesh.gateway.url}/sales/v1/customers/${ids.customer}/overview`, 'analyst', {
          'if-none-match': tag,
        })
      ).status,
    ).toBe(200);
    // Another gateway replica over the same supergraph and data validates the same tag: clients may land on either.
    const replica = await startGateway(platform, { supergraphFile: mesh.supergraphFile, port: 0 });
    try {
      const other = await fetch(`${replica.url}/sales/v1/customers/${ids.customer}`, {
        headers: { ...(await bearer(platform, 'analyst')), 'if-none-match': tag },
      });
      expect([other.status, other.headers.get('etag')]).toEqual([304, tag]);
    } finally {
      await replica.close();
    }
  });
});

describe('one enforcement path', () => {
  it('a REST call is recorded in usage and lineage under its endpoint name, and counted in the metrics', async () => {
    const since = new Date(Date.now() - 60_000);
    await get(`${mesh.gateway.url}/catalog/v1/category-summary`, 'analyst', { 'x-client-name': 'bi-tool' });
    await mesh.gateway.usage!.flush();
    const usage = await readUsage(platform.store, { since });
    expect(usage.find((u) => u.name === 'CatalogCategorySummary' && u.client === 'bi-tool')?.coordinates).toContain(
      'Query.categorySummary',
    );
    mesh.gateway.lineage!.flush();
    await platform.lineage.emitter.flush();
    const jobs = fs
      .readFileSync(lineageFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { job: { name: string } }).job.name);
    expect(jobs).toContain('gateway.CatalogCategorySummary');
    const metrics = await (await fetch(`${mesh.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/mesh_graphql_requests_total\{[^}]*operation="CatalogCategorySummary"[^}]*\} [1-9]/);
  });

  it(
    'a domain that is down: partial answers say which part is missing and are not reusable; its own resources answer ' +
      '503',
    async () => {
      const i = mesh.subgraphs.findIndex((s) => s.name === 'payments');
      const [payments] = mesh.subgraphs.splice(i, 1);
      await payments!.close();
      const overview = await get(`${mesh.gateway.url}/sales/v1/customers/${ids.customer}/overview?orders=3`, 'analyst');
      expect(overview.status).toBe(200);
      conforms(operations.get('SalesCustomerOverview')!, overview, 'overview without payments');
      const body = overview.json() as { data: { orders: { payments: unknown }[] }; errors: { code: string }[] };
      expect(body.data.orders.every((o) => o.payments === null)).toBe(true);
      expect(body.errors.map((e) => e.code)).toContain('SUBGRAPH_UNAVAILABLE');
      expect(overview.headers.get('x-mesh-errors')).toContain('SUBGRAPH_UNAVAILABLE');
      expect(overview.headers.get('cache-control')).toBe('no-store');
      // As a role that has not read it before: the response cache (rightly) still holds the owner's answer of this
      // version.
      const payment = await get(`${mesh.gateway.url}/payments/v1/payments/${ids.payment}`, 'admin');
      expect([payment.status, payment.json().code, payment.headers.get('retry-after')]).toEqual([
        503,
        'SUBGRAPH_UNAVAILABLE',
        '5',
      ]);
      conforms(operations.get('PaymentsPayment')!, payment, 'payment without payments');
    },
  );
});
