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
import { queryCurated } from '../products/test/helpers.js';

/**
 * The mesh under a careless or hostile client: random and malformed URLs, methods, headers, bodies and tokens, and
 * GraphQL documents generated from the schema (valid, invalid, deep, wide), as every role. Bounded in count and time.
 * After every batch: no 5xx, every server healthy, and no raw PII value in any answer to a role without clear access.
 */
const BATCHES = 8;
const PER_BATCH = 60;
const ROLES = ['analyst', 'ml-engineer', 'admin', 'sales-owner', 'intern', 'none', 'garbage'];

let platform: MeshPlatform;
let mesh: RunningMesh;
let schema: GraphQLSchema;
let tokens: Record<string, Record<string, string>>;
/** Raw PII values (long enough not to occur by chance), which only admin and the owning domain may see. */
let secrets: string[];

beforeAll(async () => {
  ({ platform, mesh } = await meshForTests((p) => (g) => consoleRoutes(p, g)));
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
      for (let batch = 0; batch < BATCHES && Date.now() - started < 120_000; batch++) {
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            const res = await send(r);
            sent++;
            const label = `${JSON.stringify(r).slice(0, 300)} → ${res.status} ${res.body.slice(0, 200)}`;
            expect(res.status, label).toBeLessThan(500);
            if (['analyst', 'ml-engineer', 'intern', 'none', 'garbage'].includes(res.role)) {
              const leaked = secrets.find((s) => res.body.includes(s));
              expect(leaked, label).toBeUndefined();
            }
          }),
          { numRuns: PER_BATCH, seed: 1000 + batch },
        );
        for (const url of [mesh.gateway.url, ...mesh.subgraphs.map((s) => s.url), mesh.metadata.url])
          expect((await fetch(`${url}/health`)).status, url).toBe(200);
      }
      console.log(`fuzz: ${sent} requests, no 5xx, every server healthy, no raw PII to roles without clear access`);
      expect(sent).toBeGreaterThanOrEqual(PER_BATCH * 4);
    },
  );
});
