import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import SwaggerParser from '@apidevtools/swagger-parser';
import { listen, type Listening } from '../../platform/http.js';
import { createLogger } from '../../platform/log.js';
import type { DomainInfo } from '../../platform/domains.js';
import { loadEndpoints, parseEndpoint, type RestEndpoint } from '../../products/api/endpoints.js';
import { bindEndpoint } from '../../products/api/shape.js';
import type { DataContract } from '../../governance/contracts/types.js';
import { restRoute } from '../rest/route.js';
import { openApiDocument } from '../rest/openapi.js';
import type { GatewayContext } from '../context.js';
import { tempDir } from '../../platform/test/helpers.js';

const TYPE_DEFS = 'type Query { item(id: ID!): Item }\ntype Item { id: ID!\n name: String }';
const ITEM = (major: number) =>
  `# GET /shop/v${major}/items/{id}\n# One item.\nquery ShopItemV${major}($id: ID!) {\n  item(id: $id) { id name ` +
  `}\n}\n`;

/** A domain folder with REST endpoints for majors 1 and 2, at version 2.1.0. */
function shop(changelog: string): DomainInfo {
  const dir = path.join(tempDir(), 'shop');
  for (const major of [1, 2]) {
    fs.mkdirSync(path.join(dir, 'api', `v${major}`), { recursive: true });
    fs.writeFileSync(path.join(dir, 'api', `v${major}`, 'item.graphql'), ITEM(major));
  }
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), changelog);
  return {
    name: 'shop',
    dir,
    version: '2.1.0',
    contractFile: path.join(dir, 'contract.odcs.yaml'),
    pipelineFile: path.join(dir, 'pipeline.yaml'),
    lineageFile: path.join(dir, 'lineage.yaml'),
  };
}

describe('endpoint declarations', () => {
  it('a superseded major is deprecated from the CHANGELOG date of its successor, sunset after the policy', () => {
    const [v1, v2] = loadEndpoints(
      [shop('# shop\n\n## 2.1.0\n- more\n\n## 2.0.0 (2026-01-10)\n- items renamed\n\n## 1.0.0\n- first\n')],
      { deprecationDays: 90 },
    ).endpoints;
    expect(v1).toMatchObject({
      name: 'ShopItemV1',
      path: '/shop/v1/items/{id}',
      pathParams: ['id'],
      deprecation: { successor: 2, since: '2026-01-10T00:00:00.000Z', sunset: '2026-04-10T00:00:00.000Z' },
    });
    expect(v2!.deprecation).toBeUndefined();
    // Undated: still served, and the schema check asks for the date.
    const [undated] = loadEndpoints([shop('## 2.0.0\n- items renamed\n')], { deprecationDays: 90 }).endpoints;
    expect(undated!.deprecation).toMatchObject({
      successor: 2,
      problem: expect.stringMatching(/date its CHANGELOG.md entry "## 2.0.0 \(YYYY-MM-DD\)"/),
    });
  });

  it('a malformed declaration is refused with what is wrong and where', () => {
    const bad = (text: string) => () => parseEndpoint(text, 'shop', 1, 'shop/api/v1/x.graphql');
    expect(bad('query X { item(id: "1") { id } }')).toThrow(/shop\/api\/v1\/x.graphql: must start with a "# GET/);
    expect(bad('# GET /other/v1/items\nquery X { item(id: "1") { id } }')).toThrow(/must start with \/shop\/v1\//);
    expect(bad('# GET /shop/v1/Items\nquery X { item(id: "1") { id } }')).toThrow(/lower-case words/);
    expect(bad('# GET /shop/v1/items/{key}\nquery X($id: ID!) { item(id: $id) { id } }')).toThrow(
      /path parameter \{key\} is not a variable of X/,
    );
    expect(bad('# GET /shop/v1/items\nquery X { a: item(id: "1") { id } b: item(id: "2") { id } }')).toThrow(
      /exactly one root field/,
    );
    expect(bad('# GET /shop/v1/items\n{ item(id: "1") { id } }')).toThrow(/exactly one named query/);
    expect(bad('# GET /shop/v1/items\nquery X { item(id: ')).toThrow(/Syntax Error/);
    const domain = shop('## 2.0.0 (2026-01-10)\n');
    fs.writeFileSync(
      path.join(domain.dir, 'api', 'v2', 'again.graphql'),
      ITEM(2).replace('ShopItemV2', 'ShopItemAgain'),
    );
    // A bad file is left out and reported; the domain's other endpoints stay.
    fs.writeFileSync(path.join(domain.dir, 'api', 'v1', 'broken.graphql'), 'query {');
    const loaded = loadEndpoints([domain], { deprecationDays: 90 });
    expect(loaded.endpoints.map((e) => e.name)).toEqual(['ShopItemV1', 'ShopItemAgain']);
    expect(loaded.problems).toEqual([
      'REST endpoint shop/api/v1/broken.graphql: must start with a "# GET /<domain>/v<major>/…" line',
      'REST endpoint shop/api/v2/item.graphql: path GET /shop/v2/items/{} is also declared by ' +
        'shop/api/v2/again.graphql',
    ]);
  });
});

describe('a deprecated major through the route', () => {
  let server: ApolloServer<GatewayContext>;
  let http: Listening;
  let endpoints: RestEndpoint[];
  let now = new Date('2026-02-01T00:00:00Z');
  /** The v2 endpoint no longer matches the published schema (a publication broke it). */
  let broken = false;

  beforeAll(async () => {
    server = new ApolloServer<GatewayContext>({
      typeDefs: TYPE_DEFS,
      resolvers: { Query: { item: (_: unknown, { id }: { id: string }) => (id === '1' ? { id, name: 'one' } : null) } },
    });
    await server.start();
    endpoints = loadEndpoints([shop('## 2.0.0 (2026-01-10)\n')], { deprecationDays: 90 }).endpoints;
    const schema = (await import('graphql')).buildSchema(TYPE_DEFS);
    const route = restRoute({
      server,
      context: async () => ({
        identity: { sub: 'test', role: 'analyst' },
        client: 'test',
        stats: { duckdbQueries: 0, subgraphFetches: {}, dataVersions: {} },
      }),
      binding: () => ({
        endpoints: endpoints.map((endpoint) =>
          broken && endpoint.major === 2
            ? { endpoint, unavailable: 'Cannot query field "name" on type "Item".' }
            : { endpoint, bound: bindEndpoint(schema, endpoint) },
        ),
        fingerprint: 'f',
      }),
      maxAge: () => 60,
      deadlineMs: 5000,
      log: createLogger({ level: 'silent', format: 'json', file: '' }),
      now: () => now,
    });
    http = await listen({ '/shop/*': route }, 0);
  });
  afterAll(async () => {
    await http?.close();
    await server?.stop();
  });

  it('answers Deprecation, Sunset and the successor until the sunset, then 410; the current major none', async () => {
    const v1 = await fetch(`${http.url}/shop/v1/items/1`);
    expect(v1.status).toBe(200);
    expect(v1.headers.get('deprecation')).toBe(`@${Date.parse('2026-01-10T00:00:00Z') / 1000}`);
    expect(v1.headers.get('sunset')).toBe('Fri, 10 Apr 2026 00:00:00 GMT');
    expect(v1.headers.get('link')).toBe('</shop/v2/openapi.json>; rel="successor-version"');
    const v2 = await fetch(`${http.url}/shop/v2/items/1`);
    expect([v2.status, v2.headers.get('deprecation'), v2.headers.get('sunset')]).toEqual([200, null, null]);
    // Content-based validator: nothing here has a data version.
    expect(v2.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    now = new Date('2026-04-10T00:00:00Z');
    const gone = await fetch(`${http.url}/shop/v1/items/1`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({
      code: 'GONE',
      detail: '/shop/v1/items/{id} was sunset on 2026-04-10: use v2',
    });
    expect((await fetch(`${http.url}/shop/v2/items/1`)).status).toBe(200);
    expect((await fetch(`${http.url}/shop/v2/items/2`)).status).toBe(404);
  });

  it('an endpoint the published schema no longer serves answers 503 with Retry-After, no internals', async () => {
    broken = true;
    try {
      const res = await fetch(`${http.url}/shop/v2/items/1`);
      expect([res.status, res.headers.get('retry-after')]).toEqual([503, '60']);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(body.detail).not.toMatch(/Cannot query/);
    } finally {
      broken = false;
    }
  });

  it('its document marks the operation deprecated and documents the 410', async () => {
    const contract = {
      apiVersion: 'v3.1.0',
      kind: 'DataContract',
      id: 'urn:shop',
      version: '2.1.0',
      status: 'active',
      domain: 'shop',
      dataProduct: 'shop',
      schema: [],
    } as DataContract;
    const schema = (await import('graphql')).buildSchema(TYPE_DEFS);
    const doc = openApiDocument({
      title: 'shop',
      version: '1.x',
      description: 'old',
      domains: [{ name: 'shop', version: '2.1.0', contract, slo: {} }],
      served: [{ endpoint: endpoints[0]!, bound: bindEndpoint(schema, endpoints[0]!) }],
    });
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    // The same validator refuses the document with its sunset header's definition broken: the check above can fail.
    const broken = structuredClone(doc) as { components: { headers: Record<string, Record<string, unknown>> } };
    broken.components.headers.Sunset = { ...broken.components.headers.Sunset, schema: 'a date' };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/Sunset|schema/);
    const op = (
      doc.paths as Record<
        string,
        { get: { deprecated?: boolean; responses: Record<string, { headers?: Record<string, unknown> }> } }
      >
    )['/shop/v1/items/{id}']!.get;
    expect(op.deprecated).toBe(true);
    expect(Object.keys(op.responses)).toContain('410');
    expect(Object.keys(op.responses['200']!.headers!)).toEqual(
      expect.arrayContaining(['Deprecation', 'Sunset', 'Link']),
    );
  });
});
