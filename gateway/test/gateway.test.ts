import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { buildSchema } from 'graphql';
import type { MeshPlatform } from '../../lineage/index.js';
import { sqlString } from '../../platform/duckdb.js';
import { listDomains } from '../../platform/domains.js';
import { IDENTITY_HEADER, signInternalIdentity } from '../../platform/auth.js';
import { startSubgraph } from '../../products/subgraph/domainSubgraph.js';
import { loadRoles, knownRoles } from '../../governance/access.js';
import { piiGuard } from '../../governance/piiGuard.js';
import { supergraphPiiFields, composeSupergraph } from '../../governance/composition.js';
import { EXAMPLE_QUERY, sources, type RunningMesh } from '../inProcessMesh.js';
import { writeAtomic } from '../../platform/files.js';
import { withStore } from '../../platform/platform.js';
import { isMeshError, ErrorCode } from '../../platform/errors.js';
import type { ObjectStore } from '../../platform/store/index.js';
import { PUBLISHED_SUPERGRAPH_KEY } from '../../products/storeLayout.js';
import { startGateway } from '../server.js';
import { meshForTests } from './mesh.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { bearer, gql, expectedToken } from '../../platform/test/helpers.js';
import { queryCurated } from '../../products/test/helpers.js';

let platform: MeshPlatform;
let mesh: RunningMesh;
let customerId: string;

beforeAll(async () => {
  ({ platform, mesh } = await meshForTests(undefined, { MESH_SUPERGRAPH_POLL_MS: '100' }));
  // A customer with card payments, shipments and campaign touches, so every domain answers.
  const [row] = await queryCurated<{ customer_id: string }>(
    platform,
    `SELECT o.customer_id FROM o JOIN p USING (order_id) JOIN r USING (payment_id) JOIN s USING (order_id) JOIN t ON
      t.customer_id = o.customer_id
     WHERE r.card_last4 IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    {
      o: ['sales', 'orders'],
      p: ['payments', 'payments'],
      r: ['payments', 'payments', 'restricted'],
      s: ['fulfillment', 'shipments'],
      t: ['campaigns', 'campaign_touches'],
    },
  );
  customerId = row!.customer_id;
});
afterAll(async () => mesh?.close());

type Overview = {
  customer: {
    id: string;
    name: string | null;
    email: string | null;
    orders: {
      id: string;
      items: { product: { name: string } | null }[];
      shipments: { id: string }[] | null;
      payments: { cardLast4: string | null }[] | null;
    }[];
    campaignTouches: { campaign: { name: string } }[] | null;
  };
};

describe('CustomerOverview through the gateway, one request across all five domains', () => {
  it('answers every role, PII in clear only where the role allows, tokens identical across requests', async () => {
    const [clear] = await queryCurated<{ name: string; email: string }>(
      platform,
      `SELECT name, email FROM r WHERE customer_id = ${sqlString(customerId)}`,
      { r: ['sales', 'customers', 'restricted'] },
    );
    const cards = await queryCurated<{ card_last4: string }>(
      platform,
      `SELECT r.card_last4 FROM r JOIN p USING (payment_id) JOIN o USING (order_id) WHERE o.customer_id
        = ${sqlString(customerId)} AND r.card_last4 IS NOT NULL`,
      { r: ['payments', 'payments', 'restricted'], p: ['payments', 'payments'], o: ['sales', 'orders'] },
    );
    const token = expectedToken(platform.config.maskingKey, 'sales/customers.email', clear!.email);
    // Card endings are low-entropy: roles that would get a token are denied them instead.
    const expectations: Record<string, { email: string | null; card: 'clear' | 'denied' }> = {
      admin: { email: clear!.email, card: 'clear' },
      analyst: { email: token, card: 'denied' },
      'sales-owner': { email: clear!.email, card: 'denied' },
      'payments-owner': { email: token, card: 'clear' },
    };
    for (const [role, want] of Object.entries(expectations)) {
      const res = await gql<Overview>(
        mesh.gateway.url,
        EXAMPLE_QUERY,
        { id: customerId },
        await bearer(platform, role),
      );
      expect(res.status, role).toBe(200);
      const c = res.body.data!.customer;
      if (want.card === 'clear') expect(res.body.errors, role).toBeUndefined();
      else
        expect(
          new Set(
            res.body.errors?.map(
              (e) => `${e.extensions?.code} ${e.path?.filter((p) => typeof p === 'string').join('.')}`,
            ),
          ),
          role,
        ).toEqual(new Set(['UNAUTHORIZED_FIELD_OR_TYPE customer.orders.payments.cardLast4']));
      expect(c.id).toBe(customerId);
      expect(c.email, role).toBe(want.email);
      expect(c.orders.length).toBeGreaterThan(0);
      expect(c.orders.flatMap((o) => o.items).every((i) => typeof i.product?.name === 'string')).toBe(true);
      expect(c.orders.some((o) => (o.shipments?.length ?? 0) > 0)).toBe(true);
      expect(c.campaignTouches!.length).toBeGreaterThan(0);
      const seen = c.orders
        .flatMap((o) => o.payments ?? [])
        .map((p) => p.cardLast4)
        .filter((x): x is string => x !== null);
      if (want.card === 'denied') expect(seen, role).toEqual([]);
      else {
        expect(seen.length, role).toBeGreaterThan(0);
        for (const card of seen) expect(cards.map((x) => x.card_last4)).toContain(card);
      }
      const again = await gql<Overview>(
        mesh.gateway.url,
        EXAMPLE_QUERY,
        { id: customerId },
        await bearer(platform, role),
      );
      expect(again.body.data).toEqual(res.body.data);
    }
  });

  it('answers every key lookup from the serving copy: no DuckDB query, whatever the list sizes', async () => {
    const q = (n: number) =>
      EXAMPLE_QUERY.replace('orders(first: 5)', `orders(first: ${n})`).replace(
        'campaignTouches(first: 5)',
        `campaignTouches(first: ${n})`,
      );
    const small = await gql<Overview>(mesh.gateway.url, q(1), { id: customerId }, await bearer(platform, 'analyst'));
    const large = await gql<Overview>(mesh.gateway.url, q(50), { id: customerId }, await bearer(platform, 'admin'));
    expect(large.body.data!.customer.orders.length).toBeGreaterThan(small.body.data!.customer.orders.length);
    expect(small.headers.get('x-mesh-duckdb-queries')).toBe('0');
    expect(large.headers.get('x-mesh-duckdb-queries')).toBe('0');
    const fetches = JSON.parse(large.headers.get('x-mesh-subgraph-fetches')!) as Record<string, number>;
    expect(Object.keys(fetches).sort()).toEqual(['campaigns', 'catalog', 'fulfillment', 'payments', 'sales']);
  });
});

describe('PII matrix: every PII field of the composed schema, every role', () => {
  const probes: Record<
    string,
    {
      query: (id: string) => string;
      // biome-ignore lint/suspicious/noExplicitAny: each probe reads its own path of a GraphQL answer
      pick: (data: any) => string | null;
      dataset: [string, string, string, string];
    }
  > = {
    'Customer.name': {
      query: (id) => `{ customer(id: "${id}") { name } }`,
      pick: (d) => d.customer.name,
      dataset: ['sales', 'customers', 'customer_id', 'name'],
    },
    'Customer.email': {
      query: (id) => `{ customer(id: "${id}") { email } }`,
      pick: (d) => d.customer.email,
      dataset: ['sales', 'customers', 'customer_id', 'email'],
    },
    'Customer.phone': {
      query: (id) => `{ customer(id: "${id}") { phone } }`,
      pick: (d) => d.customer.phone,
      dataset: ['sales', 'customers', 'customer_id', 'phone'],
    },
    'Shipment.recipientName': {
      query: (id) => `{ shipment(id: "${id}") { recipientName } }`,
      pick: (d) => d.shipment.recipientName,
      dataset: ['fulfillment', 'shipments', 'shipment_id', 'recipient_name'],
    },
    'Shipment.addressLine': {
      query: (id) => `{ shipment(id: "${id}") { addressLine } }`,
      pick: (d) => d.shipment.addressLine,
      dataset: ['fulfillment', 'shipments', 'shipment_id', 'address_line'],
    },
    'Shipment.postalCode': {
      query: (id) => `{ shipment(id: "${id}") { postalCode } }`,
      pick: (d) => d.shipment.postalCode,
      dataset: ['fulfillment', 'shipments', 'shipment_id', 'postal_code'],
    },
    'Payment.cardLast4': {
      query: (id) => `{ payment(id: "${id}") { cardLast4 } }`,
      pick: (d) => d.payment.cardLast4,
      dataset: ['payments', 'payments', 'payment_id', 'card_last4'],
    },
  };

  it('covers exactly the @pii fields of the supergraph', () => {
    const fields = supergraphPiiFields(fs.readFileSync(mesh.supergraphFile, 'utf8'))
      .map((f) => `${f.type}.${f.field}`)
      .sort();
    expect(fields).toEqual(Object.keys(probes).sort());
  });

  /**
   * What each role gets, written from the policy as docs/governance.md states it (not computed by the code under test):
   * admins see PII in clear, analysts tokens, ML engineers and operators nothing; a domain owner sees its own domain's
   * PII in clear and other domains' as tokens.
   */
  type Access = 'clear' | 'masked' | 'denied';
  /** Low-entropy kinds (policy.yaml): where a role would get a token, it is denied instead. */
  const LOW_ENTROPY = new Set(['Shipment.postalCode', 'Payment.cardLast4']);
  const masked = (f: string): Access => (LOW_ENTROPY.has(f) ? 'denied' : 'masked');
  const all = (a: Access) =>
    Object.fromEntries(Object.keys(probes).map((f) => [f, a === 'masked' ? masked(f) : a])) as Record<string, Access>;
  const owner = (own: 'Customer' | 'Shipment' | 'Payment' | 'none') =>
    Object.fromEntries(Object.keys(probes).map((f) => [f, f.startsWith(`${own}.`) ? 'clear' : masked(f)])) as Record<
      string,
      Access
    >;
  const EXPECTED: Record<string, Record<string, Access>> = {
    admin: all('clear'),
    analyst: all('masked'),
    'ml-engineer': all('denied'),
    operator: all('denied'),
    'sales-owner': owner('Customer'),
    'fulfillment-owner': owner('Shipment'),
    'payments-owner': owner('Payment'),
    'catalog-owner': owner('none'),
    'campaigns-owner': owner('none'),
  };
  /** The subgraph that owns each PII field, and how to ask it directly. */
  const OWNER: Record<string, string> = { Customer: 'sales', Shipment: 'fulfillment', Payment: 'payments' };

  const tokenFor = (field: string, value: string) => {
    const [domain, dataset, , column] = probes[field]!.dataset;
    return expectedToken(platform.config.maskingKey, `${domain}/${dataset}.${column}`, value);
  };

  async function clearValue(field: string): Promise<{ k: string; v: string }> {
    const [domain, dataset, key, column] = probes[field]!.dataset;
    const [row] = await queryCurated<{ k: string; v: string }>(
      platform,
      `SELECT ${key} AS k, ${column} AS v FROM r WHERE ${column} IS NOT NULL ORDER BY 1 LIMIT 1`,
      { r: [domain, dataset, 'restricted'] },
    );
    return row!;
  }

  it('the table names every role the policy knows', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(
      knownRoles(
        loadRoles(),
        listDomains(platform.config.domainsDir).map((d) => d.name),
      ).sort(),
    );
  });

  it(
    'through the gateway: each role gets clear values, masked tokens or an UNAUTHORIZED_FIELD_OR_TYPE null, as the ' +
      'table says',
    async () => {
      let checked = 0;
      for (const [field, probe] of Object.entries(probes)) {
        const row = await clearValue(field);
        for (const [role, fields] of Object.entries(EXPECTED)) {
          const access = fields[field]!;
          const res = await gql(mesh.gateway.url, probe.query(row.k), {}, await bearer(platform, role));
          const value = probe.pick(res.body.data);
          const label = `${field} as ${role} (${access})`;
          if (access === 'clear') expect(value, label).toBe(row.v);
          if (access === 'masked') expect(value, label).toBe(tokenFor(field, row.v));
          // The response says which of its fields are tokens or withheld, for this role.
          const path = `${Object.keys(res.body.data as object)[0]}.${field.split('.')[1]}`;
          const governance = (
            res.body as { extensions?: { governance?: { role: string; masked: string[]; withheld: string[] } } }
          ).extensions?.governance;
          expect(governance, label).toEqual(
            access === 'clear'
              ? undefined
              : { role, masked: access === 'masked' ? [path] : [], withheld: access === 'denied' ? [path] : [] },
          );
          if (access === 'denied') {
            expect(value, label).toBeNull();
            expect(
              res.body.errors?.map((e) => [e.extensions?.code, e.path]),
              label,
            ).toEqual([['UNAUTHORIZED_FIELD_OR_TYPE', [Object.keys(res.body.data as object)[0], field.split('.')[1]]]]);
          } else expect(res.body.errors, label).toBeUndefined();
          checked++;
        }
      }
      expect(checked).toBe(Object.keys(probes).length * Object.keys(EXPECTED).length);
    },
  );

  it('the owning subgraph itself, given the identity the gateway signs, denies and masks the same', async () => {
    for (const [field, probe] of Object.entries(probes)) {
      const row = await clearValue(field);
      const subgraph = mesh.subgraphs.find((s) => s.name === OWNER[field.split('.')[0]!])!;
      for (const [role, fields] of Object.entries(EXPECTED)) {
        const access = fields[field]!;
        const res = await gql(
          subgraph.url,
          probe.query(row.k),
          {},
          { [IDENTITY_HEADER]: await signInternalIdentity({ sub: 't', role }, platform.config.auth, subgraph.name) },
        );
        const value = probe.pick(res.body.data);
        const label = `${field} on ${subgraph.name} as ${role} (${access})`;
        expect(value, label).toBe(access === 'clear' ? row.v : access === 'masked' ? tokenFor(field, row.v) : null);
        expect(
          res.body.errors?.map((e) => e.extensions?.code),
          label,
        ).toEqual(access === 'denied' ? ['UNAUTHORIZED_FIELD_OR_TYPE'] : undefined);
      }
    }
  });

  it('denies inside aliases, fragments and lists without failing the rest of the query', async () => {
    const res = await gql<{ c: { id: string; mail: string | null; orders: { id: string }[] } }>(
      mesh.gateway.url,
      `query { c: customer(id: "${customerId}") { id ...Contact orders(first: 3) { id } } } fragment Contact on ` +
        `Customer { mail: email }`,
      {},
      await bearer(platform, 'ml-engineer'),
    );
    expect(res.body.data!.c.id).toBe(customerId);
    expect(res.body.data!.c.mail).toBeNull();
    expect(res.body.data!.c.orders.length).toBeGreaterThan(0);
    expect(res.body.errors?.[0]).toMatchObject({
      path: ['c', 'mail'],
      extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
    });
    expect((res.body as { extensions?: unknown }).extensions).toEqual({
      governance: { role: 'ml-engineer', masked: [], withheld: ['c.mail'] },
    });
    const only = await gql<{ customer: Record<string, unknown> }>(
      mesh.gateway.url,
      `{ customer(id: "${customerId}") { email } }`,
      {},
      await bearer(platform, 'ml-engineer'),
    );
    expect(only.body.data!.customer).toEqual({ email: null });
  });

  it('a denied field left out by @skip or @include is absent, as for a role that may read it', async () => {
    const query =
      'query($show: Boolean!) { customer(id: "' +
      customerId +
      '") { id email @skip(if: true) phone @include(if: $show) ... on Customer @include(if: $show) { name } } }';
    for (const role of ['ml-engineer', 'admin']) {
      const hidden = await gql<{ customer: Record<string, unknown> }>(
        mesh.gateway.url,
        query,
        { show: false },
        await bearer(platform, role),
      );
      expect([hidden.body.data!.customer, hidden.body.errors], role).toEqual([{ id: customerId }, undefined]);
      expect((hidden.body as { extensions?: unknown }).extensions, role).toBeUndefined();
    }
    const shown = await gql<{ customer: Record<string, unknown> }>(
      mesh.gateway.url,
      query,
      { show: true },
      await bearer(platform, 'ml-engineer'),
    );
    expect(shown.body.data!.customer).toEqual({ id: customerId, phone: null, name: null });
    expect(shown.body.errors?.map((e) => e.path)).toEqual([
      ['customer', 'phone'],
      ['customer', 'name'],
    ]);
  });
});

describe('identity', () => {
  it('401 without a token, with a bad or expired token; 403 for a role the policy does not know', async () => {
    const none = await gql(mesh.gateway.url, '{ __typename }');
    expect(none.status).toBe(401);
    expect(none.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(none.body.errors![0]!.message).toMatch(/missing bearer token/);
    expect((await gql(mesh.gateway.url, '{ __typename }', {}, { authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    const wrongKey = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret'));
    expect((await gql(mesh.gateway.url, '{ __typename }', {}, { authorization: `Bearer ${wrongKey}` })).status).toBe(
      401,
    );
    const expired = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(platform.config.auth.jwtSecret));
    const exp = await gql(mesh.gateway.url, '{ __typename }', {}, { authorization: `Bearer ${expired}` });
    expect(exp.status).toBe(401);
    expect(exp.body.errors![0]!.message).toMatch(/exp/);
    const unknown = await gql(mesh.gateway.url, '{ __typename }', {}, await bearer(platform, 'intern'));
    expect(unknown.status).toBe(403);
    expect(unknown.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    // A token must end, and soon enough: none without exp, none good for a century.
    const secret = new TextEncoder().encode(platform.config.auth.jwtSecret);
    const forever = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(secret);
    expect(
      (await gql(mesh.gateway.url, '{ __typename }', {}, { authorization: `Bearer ${forever}` })).body.errors![0]!
        .message,
    ).toMatch(/missing required "exp" claim/);
    const century = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('100y')
      .sign(secret);
    const long = await gql(mesh.gateway.url, '{ __typename }', {}, { authorization: `Bearer ${century}` });
    expect([long.status, long.body.errors![0]!.message]).toEqual([
      401,
      expect.stringMatching(/over the 86400 s allowed/),
    ]);
  });

  it('a subgraph takes only an identity signed for it, current, and of a known role', async () => {
    const sales = mesh.subgraphs.find((s) => s.name === 'sales')!;
    const ask = async (token: string) => gql(sales.url, '{ __typename }', {}, { [IDENTITY_HEADER]: token });
    expect(
      (await ask(await signInternalIdentity({ sub: 't', role: 'analyst' }, platform.config.auth, 'sales'))).status,
    ).toBe(200);
    const other = await ask(
      await signInternalIdentity({ sub: 't', role: 'analyst' }, platform.config.auth, 'payments'),
    );
    expect([other.status, other.body.errors![0]!.message]).toEqual([401, expect.stringMatching(/aud/)]);
    const nobody = await ask(await signInternalIdentity({ sub: 't', role: 'nobody' }, platform.config.auth, 'sales'));
    expect([nobody.status, nobody.body.errors![0]!.extensions!.code]).toEqual([403, 'FORBIDDEN']);
    const internal = new TextEncoder().encode(platform.config.auth.internalSecret);
    const old = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mesh-gateway')
      .setAudience('sales')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime('1d')
      .sign(internal);
    expect((await ask(old)).status).toBe(401);
  });

  it('subgraphs refuse requests that do not carry the gateway-signed identity', async () => {
    for (const s of mesh.subgraphs) {
      const direct = await gql(s.url, '{ __typename }', {}, await bearer(platform, 'admin'));
      expect(direct.status, s.name).toBe(401);
      expect(direct.body.errors![0]!.message).toMatch(/x-mesh-identity/);
    }
  });
});

describe('query limits (graphql-armor)', () => {
  it('rejects too deep, too many aliases and too many tokens', async () => {
    const auth = await bearer(platform, 'admin');
    let deep = 'id';
    for (let i = 0; i < 8; i++) deep = `orders(first: 1) { customer { ${deep} } }`;
    const d = await gql(mesh.gateway.url, `{ customer(id: "${customerId}") { ${deep} } }`, {}, auth);
    expect(d.body.errors?.[0]?.message).toMatch(/depth/i);
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: customer(id: "${customerId}") { id }`).join(' ');
    expect((await gql(mesh.gateway.url, `{ ${aliases} }`, {}, auth)).body.errors?.[0]?.message).toMatch(/alias/i);
    const tokens = `{ customer(id: "${customerId}") { ${Array.from({ length: 2500 }, () => 'id').join(' ')} } }`;
    expect((await gql(mesh.gateway.url, tokens, {}, auth)).body.errors?.[0]?.message).toMatch(/token/i);
  });

  it('answers request errors as GraphQL over HTTP says: 4xx with a stable code, never 500', async () => {
    const auth = await bearer(platform, 'analyst');
    const cases: [string, Record<string, unknown> | string, number, string][] = [
      ['a syntax error', { query: '{ customer(id: ' }, 400, 'GRAPHQL_PARSE_FAILED'],
      [
        'too many tokens',
        { query: `{ ${Array.from({ length: 1200 }, (_, i) => `a${i}: __typename`).join(' ')} }` },
        400,
        'QUERY_LIMIT_EXCEEDED',
      ],
      [
        'too deep',
        {
          query: `{ customer(id: "${customerId}") { ${'orders(first: 1) { customer { '.repeat(8)}id${' } }'.repeat(
            8,
          )} } }`,
        },
        400,
        'QUERY_LIMIT_EXCEEDED',
      ],
      ['an unknown field', { query: '{ nope }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
      [
        'an unknown operation name',
        { query: 'query A { __typename }', operationName: 'B' },
        400,
        'OPERATION_RESOLUTION_FAILURE',
      ],
      [
        'two operations without a name',
        { query: 'query A { __typename } query B { __typename }' },
        400,
        'OPERATION_RESOLUTION_FAILURE',
      ],
      ['a mutation', { query: 'mutation { x }' }, 400, 'OPERATION_NOT_SUPPORTED'],
      // 5,000 levels of {"v": …}: a 30 KB body whose coercion would run out of stack.
      [
        'variables 5,000 levels deep',
        `{"query":"{ __typename }","variables":{"v":${'{"v":'.repeat(5000)}{}${'}'.repeat(5000)}}}`,
        400,
        'BAD_USER_INPUT',
      ],
      [
        'a persisted query of another version',
        { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } },
        400,
        'BAD_USER_INPUT',
      ],
      [
        "a persisted query whose hash is not the query's",
        { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } },
        400,
        'BAD_USER_INPUT',
      ],
      [
        'a persisted query with a numeric hash',
        { extensions: { persistedQuery: { version: 1, sha256Hash: 12 } } },
        400,
        'BAD_USER_INPUT',
      ],
      [
        'a persisted query not seen yet (the client then sends the query)',
        { extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } } },
        200,
        'PERSISTED_QUERY_NOT_FOUND',
      ],
      [
        'a lineage depth below one',
        { query: '{ lineage(dataset: "sales.orders", depth: -5) { dataset } }' },
        200,
        'BAD_USER_INPUT',
      ],
      ['a subscription', { query: 'subscription { x }' }, 400, 'OPERATION_NOT_SUPPORTED'],
      ['an id with a NUL', { query: '{ customer(id: "c-1\\u0000x") { id } }' }, 200, 'BAD_USER_INPUT'],
      [
        'a malformed date',
        { query: '{ dailyRevenue(from: "abc", to: "2026-10-01") { date } }' },
        200,
        'BAD_USER_INPUT',
      ],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await fetch(`${mesh.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect([res.status, json.errors[0]!.extensions.code], what).toEqual([status, code]);
      // The client's words, never the engine's: no SQL, no paths, no stack.
      expect(JSON.stringify(json), what).not.toMatch(/SELECT|read_parquet|\/tmp\/|at .*\.ts:\d+/);
    }
    const big = await fetch(`${mesh.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` }),
    });
    expect([
      big.status,
      ((await big.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
    ]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect((await fetch(`${mesh.gateway.url}/graph%E0%A4%Aql`)).status).toBe(400);
    // Limits are not syntax errors.
    const deep = await gql(
      mesh.gateway.url,
      `{ customer(id: "${customerId}") { ${'orders(first: 1) { customer { '.repeat(8)}id${' } }'.repeat(8)} } }`,
      {},
      auth,
    );
    expect(deep.body.errors?.[0]?.message).toMatch(/^Query depth limit of 12 exceeded/);
  });

  it('answers only GET and POST (405 with Allow), and reads only bodies sent as JSON (415)', async () => {
    const auth = await bearer(platform, 'analyst');
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await fetch(`${mesh.gateway.url}/graphql`, {
        method,
        headers: { 'content-type': 'application/json', ...auth },
        ...(method === 'OPTIONS' ? {} : { body: JSON.stringify({ query: '{ __typename }' }) }),
      });
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect([res.status, res.headers.get('allow'), body.errors[0]!.extensions.code], method).toEqual([
        405,
        'GET, POST',
        'METHOD_NOT_ALLOWED',
      ]);
    }
    for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${mesh.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': type, ...auth },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      const body = (await res.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect([res.status, body.data, body.errors[0]!.extensions.code], type).toEqual([
        415,
        undefined,
        'UNSUPPORTED_MEDIA_TYPE',
      ]);
    }
    const json = await fetch(`${mesh.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...auth },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(json.status).toBe(200);
  });
});

describe('resilience', () => {
  it('a subgraph down: the gateway returns what it has plus an error naming the subgraph, and recovers', async () => {
    const auth = await bearer(platform, 'admin');
    const payments = mesh.subgraphs.find((s) => s.name === 'payments')!;
    const port = payments.port;
    await payments.close();
    // A document not asked before: an answer cached for this data version would rightly be served without the subgraph.
    const down = await gql<Overview>(
      mesh.gateway.url,
      `${EXAMPLE_QUERY}\n# during an outage`,
      { id: customerId },
      auth,
    );
    expect(down.status).toBe(200);
    expect(down.body.data!.customer.email).toMatch(/@/);
    expect(down.body.data!.customer.orders.every((o) => o.payments === null)).toBe(true);
    expect(down.body.data!.customer.orders.some((o) => (o.shipments?.length ?? 0) > 0)).toBe(true);
    expect(
      down.body.errors!.some(
        (e) => e.extensions?.subgraph === 'payments' && e.extensions?.code === 'SUBGRAPH_UNAVAILABLE',
      ),
    ).toBe(true);
    const domain = listDomains(platform.config.domainsDir).find((d) => d.name === 'payments')!;
    const back = await startSubgraph(platform, domain, {
      port,
      guard: piiGuard(listDomains(platform.config.domainsDir)),
    });
    mesh.subgraphs[mesh.subgraphs.indexOf(payments)] = back;
    const up = await gql<Overview>(mesh.gateway.url, EXAMPLE_QUERY, { id: customerId }, auth);
    expect(up.body.errors).toBeUndefined();
    expect(up.body.data!.customer.orders.some((o) => (o.payments?.length ?? 0) > 0)).toBe(true);
  });

  it('reloads a changed supergraph without restart and without failing in-flight requests', async () => {
    const auth = await bearer(platform, 'analyst');
    const withoutCampaigns = composeSupergraph(
      sources(mesh.subgraphs.filter((s) => s.name !== 'campaigns')),
    ).supergraphSdl;
    const full = fs.readFileSync(mesh.supergraphFile, 'utf8');
    const probe = `{ customer(id: "${customerId}") { id campaignTouches(first: 1) { converted } } }`;
    const waitFor = async (ok: (r: Awaited<ReturnType<typeof gql>>) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const r = await gql(mesh.gateway.url, probe, {}, auth);
        if (ok(r)) return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('the gateway did not reload the supergraph');
    };
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const load = (async () => {
      while (!stop) {
        const r = await gql<Overview>(
          mesh.gateway.url,
          `{ customer(id: "${customerId}") { id email orders(first: 2) { id } } }`,
          {},
          auth,
        );
        served++;
        if (r.status !== 200 || r.body.errors || r.body.data?.customer.id !== customerId)
          failures.push(JSON.stringify(r.body).slice(0, 200));
      }
    })();
    writeAtomic(mesh.supergraphFile, withoutCampaigns);
    const gone = await waitFor((r) => (r.body.errors ?? []).some((e) => /campaignTouches/.test(e.message)));
    expect(gone.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    writeAtomic(mesh.supergraphFile, full);
    await waitFor((r) => r.body.errors === undefined);
    stop = true;
    await load;
    expect(served).toBeGreaterThan(5);
    expect(failures).toEqual([]);
    expect((await fetch(`${mesh.gateway.url}/health`)).status).toBe(200);
  });
});

describe('root connections', () => {
  type Page = {
    totalCount: number;
    edges: { cursor: string; node: { id: string; country?: string; category?: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  it('page by keyset cursors with filters, without overlap, and reject a bad cursor', async () => {
    const auth = await bearer(platform, 'analyst');
    const customers = (after: string | null) =>
      gql<{ customers: Page }>(
        mesh.gateway.url,
        'query($after: String) { customers(first: 3, country: "ES", after: $after) { totalCount edges { cursor node ' +
          '{ id country } } pageInfo { hasNextPage endCursor } } }',
        { after },
        auth,
      );
    const one = (await customers(null)).body.data!.customers;
    const two = (await customers(one.pageInfo.endCursor)).body.data!.customers;
    expect(one.edges).toHaveLength(3);
    expect(one.pageInfo.hasNextPage).toBe(true);
    expect(two.totalCount).toBe(one.totalCount);
    const ids = [...one.edges, ...two.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(6);
    expect([...ids].sort()).toEqual(ids);
    expect([...one.edges, ...two.edges].every((e) => e.node.country === 'ES')).toBe(true);
    const books = await gql<{ products: Page }>(
      mesh.gateway.url,
      '{ products(category: "books", first: 100) { totalCount edges { node { id category } } pageInfo { hasNextPage ' +
        '} } }',
      {},
      auth,
    );
    const p = books.body.data!.products;
    expect(p.edges.length).toBe(p.totalCount);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(p.edges.every((e) => e.node.category === 'books')).toBe(true);
    const bad = await gql(mesh.gateway.url, '{ products(first: 2, after: "nonsense") { totalCount } }', {}, auth);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('new curated versions', () => {
  it('are served by running subgraphs without a restart', async () => {
    const sales = mesh.subgraphs.find((s) => s.name === 'sales')!;
    expect(await sales.data.refresh()).toBe(false);
    const before = sales.data.version;
    await runDomainPipeline(platform, listDomains(platform.config.domainsDir).find((d) => d.name === 'sales')!, {
      full: true,
    });
    // Swapped in by this call, or already by the subgraph's own poll (every 2 s) if the run's last steps took longer.
    await sales.data.refresh();
    expect(sales.data.version).not.toBe(before);
    const res = await gql<Overview>(
      mesh.gateway.url,
      EXAMPLE_QUERY,
      { id: customerId },
      await bearer(platform, 'admin'),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.customer.id).toBe(customerId);
  });
});

describe('observability endpoints', () => {
  it('every server has /health and Prometheus /metrics, and subgraphs report their own version', async () => {
    for (const s of mesh.subgraphs) {
      const h = (await (await fetch(`${s.url}/health`)).json()) as { subgraph: string; version: string };
      expect(h).toEqual({
        status: 'ok',
        subgraph: s.name,
        version: JSON.parse(fs.readFileSync(`${platform.config.domainsDir}/${s.name}/package.json`, 'utf8')).version,
      });
      expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/mesh_duckdb_queries_total\{component="subgraph-/);
    }
    const m = await (await fetch(`${mesh.gateway.url}/metrics`)).text();
    expect(m).toMatch(
      new RegExp(
        'mesh_graphql_requests_total\\{operation="CustomerOverview",client="unknown",status="ok",' +
          'component="gateway"\\} \\d+',
      ),
    );
  });

  it('the composed API schema keeps every PII field nullable, so a denial never nulls its parent', () => {
    const sdl = fs.readFileSync(mesh.supergraphFile, 'utf8');
    const schema = buildSchema(sdl, { assumeValidSDL: true });
    for (const f of supergraphPiiFields(sdl)) {
      const type = schema.getType(f.type) as { getFields(): Record<string, { type: { toString(): string } }> };
      expect(type.getFields()[f.field]!.type.toString(), `${f.type}.${f.field}`).not.toMatch(/!$/);
    }
  });
});

describe('gateways fed by the schema registry', () => {
  it('each follow a publication from anywhere, and keep their last supergraph through a store outage', async () => {
    const auth = await bearer(platform, 'analyst');
    const full = fs.readFileSync(mesh.supergraphFile, 'utf8');
    const withoutCampaigns = composeSupergraph(
      sources(mesh.subgraphs.filter((s) => s.name !== 'campaigns')),
    ).supergraphSdl;
    const probe = `{ customer(id: "${customerId}") { id campaignTouches(first: 1) { converted } } }`;
    const serves = async (url: string) => (await gql(url, probe, {}, auth)).body.errors === undefined;
    // The store as the gateways see it, which an outage makes fail every request.
    let down = false;
    const reach = <T>(call: () => Promise<T>) => (down ? Promise.reject(new Error('store unreachable')) : call());
    const store: ObjectStore = {
      kind: platform.store.kind,
      url: platform.store.url,
      put: (k, b, o) => reach(() => platform.store.put(k, b, o)),
      putFile: (k, f, o) => reach(() => platform.store.putFile(k, f, o)),
      get: (k) => reach(() => platform.store.get(k)),
      tryGet: (k) => reach(() => platform.store.tryGet(k)),
      head: (k) => reach(() => platform.store.head(k)),
      list: (p) => reach(() => platform.store.list(p)),
      delete: (k) => reach(() => platform.store.delete(k)),
      getTags: (k) => reach(() => platform.store.getTags(k)),
      localPath: (k) => reach(() => platform.store.localPath(k)),
    };
    const err = await startGateway(platform, { port: 0 }).catch((e: unknown) => e);
    expect(isMeshError(err, ErrorCode.NOT_FOUND)).toBe(true);
    expect((err as Error).message).toMatch(/no supergraph has been published yet: run npx mesh schema publish/);

    await platform.store.put(PUBLISHED_SUPERGRAPH_KEY, full);
    const gateways = [
      await startGateway(withStore(platform, store), { port: 0 }),
      await startGateway(platform, { port: 0 }),
    ];
    try {
      for (const g of gateways) expect(await serves(g.url)).toBe(true);
      const until = async (url: string, want: boolean) => {
        const started = Date.now();
        while (Date.now() - started < 10_000) {
          if ((await serves(url)) === want) return Date.now() - started;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`${url} did not follow the publication`);
      };
      // A publication (here: the registry's copy rewritten, as `mesh schema publish` does) reaches both.
      await platform.store.put(PUBLISHED_SUPERGRAPH_KEY, withoutCampaigns);
      const delivery = await Promise.all(gateways.map((g) => until(g.url, false)));
      // Within a poll (100 ms) and its jitter (50 ms), plus the reload.
      console.log(`a publication reached the gateways in ${delivery.join(' and ')} ms (poll 100 ms + jitter ≤ 50 ms)`);
      expect(Math.max(...delivery)).toBeLessThan(2_000);

      // The store goes away: the first gateway keeps answering on its last supergraph, and catches up after.
      down = true;
      await platform.store.put(PUBLISHED_SUPERGRAPH_KEY, full);
      const during: number[] = [];
      for (let i = 0; i < 20; i++) {
        during.push((await gql(gateways[0]!.url, `{ customer(id: "${customerId}") { id } }`, {}, auth)).status);
        await new Promise((r) => setTimeout(r, 15));
      }
      expect(new Set(during)).toEqual(new Set([200]));
      expect(await serves(gateways[0]!.url)).toBe(false);
      await until(gateways[1]!.url, true);
      down = false;
      await until(gateways[0]!.url, true);

      const health = (await (await fetch(`${gateways[0]!.url}/health`)).json()) as {
        supergraph: { version: string; ageSeconds: number };
      };
      const version = createHash('sha256').update(full).digest('hex').slice(0, 12);
      expect(health.supergraph).toEqual({ version, ageSeconds: expect.any(Number) });
      const metrics = await (await fetch(`${gateways[0]!.url}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(`mesh_gateway_supergraph_loaded_timestamp_seconds\\{[^}]*version="${version}"`),
      );
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await platform.store.delete(PUBLISHED_SUPERGRAPH_KEY);
    }
  });
});
