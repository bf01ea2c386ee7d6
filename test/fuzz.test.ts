import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import type { MeshPlatform } from '../lineage/index.js';
import type { RunningMesh } from '../gateway/inProcessMesh.js';
import { meshForTests } from '../gateway/test/mesh.js';
import { consoleRoutes } from '../console/routes.js';
import { bearer } from '../platform/test/helpers.js';
import { signUserToken } from '../platform/auth.js';
import { ErrorCode } from '../platform/errors.js';
import { queryCurated } from '../products/test/helpers.js';

/**
 * The mesh under a careless or hostile client: random and malformed URLs, methods, headers, bodies and tokens, and
 * GraphQL documents generated from the schema (valid, invalid, deep, wide), as every role. Bounded in count and time.
 * After every batch: no 5xx, every server healthy, and no raw PII value in any answer to a role without clear access.
 * Then the edges an attacker's review found, each class with an oracle of its own: JSON nesting, selection depth,
 * cursors, Feast entity shapes, methods and content types.
 *
 * `npm test` runs it from fixed seeds; `npm run fuzz -- --long [--seed N]` (test/fuzz.mjs) runs every class twenty
 * times as long, from a seed it prints.
 */
const LONG = process.env.FUZZ_LONG === '1';
const SEED = Number(process.env.FUZZ_SEED || 1000);
const runs = (n: number) => (LONG ? n * 20 : n);
const BATCHES = LONG ? 40 : 8;
const PER_BATCH = 60;
const ROLES = ['analyst', 'ml-engineer', 'admin', 'sales-owner', 'intern', 'none', 'garbage'];

let platform: MeshPlatform;
let mesh: RunningMesh;
let schema: GraphQLSchema;
let tokens: Record<string, Record<string, string>>;
/** Raw PII values (long enough not to occur by chance), which only admin and the owning domain may see. */
let secrets: string[];

beforeAll(async () => {
  ({ platform, mesh } = await meshForTests((p) => (g) => consoleRoutes(p, g), {}, { features: true }));
  tokens = { none: {}, garbage: { authorization: 'Bearer a.b.c' } };
  for (const role of ROLES.filter((r) => !(r in tokens))) tokens[role] = await bearer(platform, role);
  const introspection = await fetch(`${mesh.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...tokens.admin },
    body: JSON.stringify({ query: getIntrospectionQuery() }),
  });
  schema = buildClientSchema(((await introspection.json()) as { data: IntrospectionQuery }).data);
  const pii = [
    ['sales', 'customers', ['name', 'email', 'phone']],
    ['fulfillment', 'shipments', ['recipient_name', 'address_line']],
  ] as const;
  secrets = [];
  for (const [domain, dataset, columns] of pii) {
    for (const c of columns) {
      const rows = await queryCurated<{ v: string }>(
        platform,
        `SELECT DISTINCT ${c} AS v FROM r WHERE length(${c}) >= 8`,
        { r: [domain, dataset, 'restricted'] },
      );
      secrets.push(...rows.map((r) => r.v));
    }
  }
  expect(secrets.length).toBeGreaterThan(100);
});
afterAll(async () => mesh?.close());

/** A small deterministic random source, so fast-check's seeds replay a failing document exactly. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}

const STRINGS = [
  'c-0000001',
  'c-0000002',
  'p-000001',
  '',
  'x'.repeat(300),
  'a\u0000b',
  "o'brien",
  '2026-10-01',
  'abc',
  '9999-99-99',
  '%E0%A4%A',
  '🙂',
  '<script>',
  'constructor',
  '__proto__',
];

function literal(type: GraphQLInputType, r: ReturnType<typeof rng>, depth: number): string {
  if (isNonNullType(type)) return literal(type.ofType, r, depth);
  if (r.next() < 0.1) return 'null';
  if (isListType(type))
    return `[${Array.from({ length: r.int(3) }, () => literal(type.ofType, r, depth + 1)).join(', ')}]`;
  if (isEnumType(type)) return r.next() < 0.9 ? r.pick(type.getValues()).name : 'NOT_A_VALUE';
  if (isInputObjectType(type))
    return depth > 2
      ? '{}'
      : `{ ${Object.values(type.getFields())
          .map((f) => `${f.name}: ${literal(f.type, r, depth + 1)}`)
          .join(', ')} }`;
  switch (type.name) {
    case 'Int':
      return String(r.pick([0, 1, 5, -1, 2_147_483_647, 100_000, 3]));
    case 'Float':
      return String(r.pick([0, 1.5, -2, 1e300]));
    case 'Boolean':
      return r.pick(['true', 'false']);
    default:
      return JSON.stringify(r.pick(STRINGS));
  }
}

function selection(type: GraphQLObjectType, r: ReturnType<typeof rng>, depth: number, width: number): string {
  const fields = Object.values(type.getFields());
  const picked = Array.from({ length: 1 + r.int(width) }, () => r.pick(fields));
  return picked
    .map((f, i) => {
      const args = f.args.length
        ? `(${f.args
            .filter((a) => isNonNullType(a.type) || r.next() < 0.5)
            .map((a) => `${a.name}: ${literal(a.type, r, 0)}`)
            .join(', ')})`
        : '';
      const named = getNamedType(f.type);
      const alias = r.next() < 0.1 ? `a${i}: ` : '';
      if (isLeafType(named)) return `${alias}${f.name}${args}`;
      if (isObjectType(named) && depth > 0)
        return `${alias}${f.name}${args} { ${selection(named, r, depth - 1, width)} }`;
      return `${alias}${f.name}${args} { __typename }`;
    })
    .join(' ');
}

/** A document from the schema: mostly valid, sometimes deep or wide, sometimes broken on purpose. */
function document(seed: number): string {
  const r = rng(seed);
  const depth = r.pick([1, 2, 3, 8]);
  const width = r.pick([2, 4, 30]);
  const query = `query Fuzz${r.int(100)} { ${selection(schema.getQueryType()!, r, depth, width)} }`;
  switch (r.int(8)) {
    case 0:
      return query.slice(0, r.int(query.length));
    case 1:
      return query.replace('query', r.pick(['mutation', 'subscription', 'qurey']));
    default:
      return query;
  }
}

const request = fc.oneof(
  fc.record({
    kind: fc.constant('graphql' as const),
    seed: fc.nat(),
    role: fc.constantFrom(...ROLES),
    method: fc.constantFrom('POST', 'POST', 'POST', 'GET'),
    operationName: fc.option(fc.constantFrom('Fuzz1', 'Missing'), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('http' as const),
    path: fc.oneof(
      fc.constantFrom(
        '/graphql',
        '/health',
        '/metrics',
        '/console/',
        '/console/api/cost',
        '/console/api/slo',
        '/console/%E0%A4%A',
        '/nope',
        '/console/../../etc/passwd',
      ),
      fc.webPath(),
    ),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    role: fc.constantFrom(...ROLES),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/graphql', ''),
    body: fc.oneof(
      fc.string(),
      fc.json(),
      fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString('latin1')),
    ),
  }),
);

type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

async function send(r: FuzzRequest): Promise<{ status: number; body: string; role: string }> {
  if (r.kind === 'graphql') {
    const query = document(r.seed);
    const headers = { 'content-type': 'application/json', ...tokens[r.role] };
    const res =
      r.method === 'GET'
        ? await fetch(
            `${mesh.gateway.url}/graphql?${new URLSearchParams({
              query,
              ...(r.operationName ? { operationName: r.operationName } : {}),
            })}`,
            { headers: { ...headers, 'apollo-require-preflight': 'true' } },
          )
        : await fetch(`${mesh.gateway.url}/graphql`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ query, operationName: r.operationName }),
          });
    return { status: res.status, body: await res.text(), role: r.role };
  }
  const init: RequestInit = {
    method: r.method,
    headers: { ...(r.contentType ? { 'content-type': r.contentType } : {}), ...tokens[r.role] },
  };
  if (!['GET', 'OPTIONS'].includes(r.method)) init.body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const res = await fetch(`${mesh.gateway.url}${r.path}`, init);
  return { status: res.status, body: await res.text(), role: r.role };
}

describe('fuzzing the running mesh', () => {
  it(
    'answers every random or malformed request without a 5xx, stays healthy, and never shows raw PII to a role ' +
      'without clear access',
    async () => {
      let sent = 0;
      const started = Date.now();
      for (let batch = 0; batch < BATCHES && Date.now() - started < (LONG ? 900_000 : 120_000); batch++) {
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            const res = await send(r);
            sent++;
            const label = `${JSON.stringify(r).slice(0, 300)} → ${res.status} ${res.body.slice(0, 200)}`;
            expect(res.status, label).toBeLessThan(500);
            for (const [, code] of res.body.matchAll(/"code":"(\w+)"/g))
              expect(Object.values(ErrorCode), label).toContain(code);
            if (['analyst', 'ml-engineer', 'intern', 'none', 'garbage'].includes(res.role)) {
              const leaked = secrets.find((s) => res.body.includes(s));
              expect(leaked, label).toBeUndefined();
            }
          }),
          { numRuns: PER_BATCH, seed: SEED + batch },
        );
        for (const url of [mesh.gateway.url, ...mesh.subgraphs.map((s) => s.url), mesh.metadata.url])
          expect((await fetch(`${url}/health`)).status, url).toBe(200);
      }
      console.log(`fuzz: ${sent} requests, no 5xx, every server healthy, no raw PII to roles without clear access`);
      expect(sent).toBeGreaterThanOrEqual(PER_BATCH * 4);
    },
    LONG ? 1_800_000 : undefined,
  );
});

/** A POST of JSON text (`body` as is) with a caller's token; the answer's status, headers and parsed body. */
async function postJson(url: string, body: string, auth: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

/** The first GraphQL error's code, or undefined. */
const codeOf = (body: Record<string, unknown>) =>
  (body.errors as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;

/** A JSON text of arrays or objects nested `depth` levels around one number. */
const nestedJson = (depth: number, array: boolean) =>
  array ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('fuzzing the edges an attacker found, each against its own oracle', () => {
  /** Each class spends its own caller's budget: one class's requests never throttle another's. */
  const as = async (sub: string, role = 'admin') => ({
    authorization: `Bearer ${await signUserToken({ sub: `fuzz-${sub}`, role }, platform.config.auth)}`,
  });
  const property = <T>(arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>, n: number, offset: number) =>
    fc.assert(fc.asyncProperty(arb, check), { numRuns: runs(n), seed: SEED + offset });

  it('JSON nesting: up to 50 levels is read, past 64 a 400 naming the limit, on GraphQL and Feast alike', async () => {
    const auth = await as('nesting');
    const ml = await as('nesting-ml', 'ml-engineer');
    const depth = fc.oneof(fc.integer({ min: 4, max: 50 }), fc.integer({ min: 65, max: 6_000 }));
    await property(
      fc.record({ depth, array: fc.boolean(), where: fc.constantFrom('variables', 'extensions', 'entity') }),
      async ({ depth: d, array, where }) => {
        const deep = d > 64;
        const label = `${where}, ${d} levels of ${array ? 'arrays' : 'objects'}`;
        if (where === 'entity') {
          const r = await postJson(
            `${mesh.features!.url}/get-online-features`,
            `{"features":["customer_orders:total_spend_90d"],"entities":{"customer_id":[${nestedJson(d - 3, array)}]}}`,
            ml,
          );
          expect([r.status, r.json.code], label).toEqual([400, 'BAD_USER_INPUT']);
          // Past the limit the body is refused for its nesting; within it, the key for not being a scalar.
          expect(r.json.detail, label).toMatch(deep ? /nests deeper than 64 levels/ : /must be a string or a number/);
          return;
        }
        // The value sits one level down in the body: `d - 1` levels of it make a body `d` deep.
        const r = await postJson(
          `${mesh.gateway.url}/graphql`,
          `{"query":"{ __typename }","${where}":{"x":${nestedJson(d - 2, array)}}}`,
          auth,
        );
        if (deep) {
          expect([r.status, codeOf(r.json)], label).toEqual([400, 'BAD_USER_INPUT']);
          expect(JSON.stringify(r.json), label).toMatch(/nests deeper than 64 levels/);
        } else expect([r.status, r.json.data], label).toEqual([200, { __typename: 'Query' }]);
      },
      40,
      100,
    );
  });

  it('selection depth: a customer to their orders and back, allowed to 10 levels and refused from 14', async () => {
    const auth = await as('depth');
    await property(
      fc.integer({ min: 1, max: 30 }),
      async (levels) => {
        // Each level is `orders(first: 1) { customer { … } }`: two fields deeper.
        let inner = 'id';
        for (let i = 0; i < levels; i++) inner = `orders(first: 1) { id customer { ${inner} } }`;
        const r = await postJson(
          `${mesh.gateway.url}/graphql`,
          JSON.stringify({ query: `{ customer(id: "c-0000001") { ${inner} } }` }),
          auth,
        );
        const depth = 1 + 2 * levels + 1;
        const label = `depth ${depth}`;
        expect(r.status, label).toBeLessThan(500);
        if (depth <= 10) expect([r.status, r.json.errors], label).toEqual([200, undefined]);
        if (depth >= 14) {
          // graphql-armor counts depth, and a cost of its own that grows with depth: either may refuse first.
          const messages = (r.json.errors as { message: string }[]).map((e) => e.message);
          expect(r.status, label).toBe(400);
          expect(messages.join('\n'), label).toMatch(/depth limit of 12|cost limit of 10000/i);
          expect(messages.join('\n'), label).not.toMatch(/Syntax Error/);
        }
      },
      20,
      200,
    );
  });

  it('cursors: a position of the right length pages, anything else is a 400 naming the cursor', async () => {
    const auth = await as('cursors');
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const notScalar = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.dictionary(fc.string(), fc.integer()),
      fc.array(fc.integer()),
    );
    const cursor = fc.oneof(
      fc.array(scalar, { minLength: 0, maxLength: 4 }).map((v) => ({ kind: 'array' as const, length: v.length, v })),
      fc
        .tuple(fc.array(scalar, { maxLength: 2 }), notScalar)
        .map(([v, bad]) => ({ kind: 'bad' as const, v: [...v, bad] })),
      fc
        .oneof(fc.string(), fc.integer(), fc.dictionary(fc.string(), fc.string()))
        .map((v) => ({ kind: 'bad' as const, v })),
      fc.string().map((text) => ({ kind: 'text' as const, text: `{${text}` })),
    );
    const encode = (c: { v?: unknown; text?: string }) =>
      Buffer.from(c.text ?? JSON.stringify(c.v)).toString('base64url');
    await property(
      fc.record({ cursor, list: fc.constantFrom('customers', 'orders', 'rest') }),
      async ({ cursor: c, list }) => {
        const after = encode(c);
        // customers are paged by id (one value), a customer's orders by (placedAt, id).
        const arity = list === 'orders' ? 2 : 1;
        const fits = c.kind === 'array' && c.length === arity;
        const label = `${list} after ${JSON.stringify(c)}`;
        if (list === 'rest') {
          const res = await fetch(`${mesh.gateway.url}/sales/v1/customers?first=2&after=${after}`, { headers: auth });
          const body = (await res.json()) as Record<string, unknown>;
          if (fits) expect(res.status, `${label}: ${JSON.stringify(body)}`).toBe(200);
          else {
            expect([res.status, body.code], label).toEqual([400, 'BAD_USER_INPUT']);
            expect(String(body.detail), label).toMatch(/cursor/);
          }
          return;
        }
        const query =
          list === 'customers'
            ? 'query($after: String) { customers(first: 2, after: $after) { edges { cursor } totalCount } }'
            : 'query($after: String) { customer(id: "c-0000001") { orders(first: 2, after: $after) { id } } }';
        const r = await postJson(`${mesh.gateway.url}/graphql`, JSON.stringify({ query, variables: { after } }), auth);
        expect(r.status, label).toBeLessThan(500);
        if (fits) {
          // A position of the right shape pages, whatever it names (a value sorts somewhere), or is a 400 naming it.
          expect(codeOf(r.json) ?? 'none', `${label}: ${r.text.slice(0, 300)}`).toMatch(/^(none|BAD_USER_INPUT)$/);
        } else {
          expect(codeOf(r.json), `${label}: ${r.text.slice(0, 300)}`).toBe('BAD_USER_INPUT');
          expect(r.text, label).toMatch(/cursor/);
        }
      },
      60,
      300,
    );
  });

  it('Feast entity shapes: scalar columns of one length are read, every other shape is a 400 naming it', async () => {
    const auth = await as('entities', 'ml-engineer');
    const scalar = fc.oneof(fc.constantFrom('c-0000001', 'c-0000002', 'c-nobody'), fc.string(), fc.integer());
    const notScalar = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.constant({ $ne: 1 }),
      fc.array(scalar, { maxLength: 3 }),
      fc.dictionary(fc.string(), scalar),
    );
    const shape = fc.oneof(
      fc.array(scalar, { minLength: 1, maxLength: 5 }).map((ids) => ({ ok: true, entities: { customer_id: ids } })),
      fc
        .array(scalar, { minLength: 1, maxLength: 5 })
        .map((ids) => ({ ok: true, entities: { customer_id: ids, not_a_key: ids.map(() => 'x') } })),
      fc
        .tuple(fc.array(scalar, { maxLength: 4 }), notScalar, fc.nat(4))
        .map(([ids, bad, at]) => ({ ok: false, entities: { customer_id: (ids as unknown[]).toSpliced(at, 0, bad) } })),
      fc
        .tuple(fc.array(scalar, { minLength: 1, maxLength: 4 }), fc.array(scalar, { minLength: 5, maxLength: 6 }))
        .map(([ids, other]) => ({ ok: false, entities: { customer_id: ids, product_id: other } })),
      fc
        .oneof(fc.constant({}), fc.array(scalar), fc.string(), fc.constant(null))
        .map((entities) => ({ ok: false, entities })),
      fc.array(scalar, { minLength: 1, maxLength: 3 }).map((ids) => ({ ok: false, entities: { product_id: ids } })),
    );
    await property(
      shape,
      async ({ ok, entities }) => {
        const r = await postJson(
          `${mesh.features!.url}/get-online-features`,
          JSON.stringify({ feature_service: 'customer_repurchase', entities }),
          auth,
        );
        const label = `${JSON.stringify(entities).slice(0, 200)} → ${r.status} ${r.text.slice(0, 200)}`;
        if (ok) {
          expect(r.status, label).toBe(200);
          const results = r.json.results as { values: unknown[] }[];
          expect(results[0]!.values, label).toEqual((entities as { customer_id: unknown[] }).customer_id);
        } else expect([r.status, r.json.code], label).toEqual([400, 'BAD_USER_INPUT']);
      },
      60,
      400,
    );
  });

  it('methods and content types: 405 with Allow for a method not served, 415 for a body not sent as JSON', async () => {
    const auth = await as('methods', 'ml-engineer');
    const endpoints = [
      {
        path: () => `${mesh.gateway.url}/graphql`,
        allow: ['GET', 'POST'],
        json: true,
        body: '{"query":"{ __typename }"}',
      },
      {
        path: () => `${mesh.features!.url}/get-online-features`,
        allow: ['POST'],
        json: true,
        body: '{"features":["customer_orders:total_spend_90d"],"entities":{"customer_id":["c-0000001"]}}',
      },
      { path: () => `${mesh.gateway.url}/sales/v1/customers`, allow: ['GET', 'HEAD'], json: false, body: '{}' },
      { path: () => `${mesh.gateway.url}/console/api/slo`, allow: ['GET'], json: false, body: '{}' },
    ];
    await property(
      fc.record({
        endpoint: fc.nat(endpoints.length - 1),
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        type: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/merge-patch+json',
          'application/xml',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          '',
        ),
      }),
      async ({ endpoint, method, type }) => {
        const e = endpoints[endpoint]!;
        const withBody = !['GET', 'OPTIONS'].includes(method);
        const res = await fetch(e.path(), {
          method,
          headers: { ...(type ? { 'content-type': type } : {}), ...auth },
          ...(withBody ? { body: e.body } : {}),
        });
        const text = await res.text();
        const label = `${method} ${e.path()} as ${type || 'no type'} → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, label).toBeLessThan(500);
        if (!e.allow.includes(method)) {
          expect([res.status, res.headers.get('allow')], label).toEqual([405, e.allow.join(', ')]);
          expect(res.headers.get('content-type'), label).toMatch(/json/);
          return;
        }
        const jsonType = /^application\/([\w.+-]+\+)?json\s*(;|$)/.test(type);
        // A GraphQL GET has no body: any type but JSON's is refused, as a CSRF attempt when a form could send it.
        const getWithBodyType = e.json && method === 'GET' && type !== '' && !/^application\/json\s*(;|$)/.test(type);
        if (e.json && method === 'POST' && !jsonType) {
          expect(res.status, label).toBe(415);
          expect(text, label).toMatch(/UNSUPPORTED_MEDIA_TYPE/);
        } else if (getWithBodyType) {
          expect(res.status, label).toBeOneOf([400, 415]);
        } else expect(res.status, label).not.toBeOneOf([405, 415]);
        // Every code is one of the mesh's.
        const codes = [...text.matchAll(/"code":"(\w+)"/g)].map((m) => m[1]!);
        for (const code of codes) expect(Object.values(ErrorCode), label).toContain(code);
      },
      60,
      500,
    );
  });
});
