import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { __Type, parse, type GraphQLFormattedError, type GraphQLResolveInfo } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { MeshError, ErrorCode, isMeshError } from '../../platform/errors.js';
import { compiledExecution } from '../subgraph/compiled.js';

// A subgraph small enough to read, with what the mesh's subgraphs use: entities, an interface, lists, nullable and
// non-null fields, resolver errors with codes, arguments, variables, aliases, fragments and directives.
const sdl =
  `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
interface Priced { price: Float! }
type Product implements Priced @key(fields: "id") { id: ID! name: String price: Float! tags(first: Int = 2): ` +
  `[String!]! secret: String }
type Bundle implements Priced { id: ID! price: Float! items: [Product!]! }
type Query { product(id: ID!): Product products(ids: [ID!]!): [Product]! strict(ids: [ID!]!): [Product!]! priced: ` +
  `[Priced!]! engine: String! lazy: Product lazyList: [Product]! lazyItems: [Product]! lazyNow: Product holder: ` +
  `Holder ` +
  `holderNow: Holder holderList: Holder }
type Holder { id: ID! product: Product products: [Product] }
`;
// A row whose `name` is a getter that throws, read by the default resolver.
const lazy = (id: string) => ({
  id,
  price: 1,
  tags: [],
  get name(): string {
    throw new Error(`no name for ${id}`);
  },
});
const rows: Record<string, { id: string; name: string | null; price: number | null; tags: string[] }> = {
  p1: { id: 'p1', name: 'Lamp', price: 12.5, tags: ['home', 'light', 'sale'] },
  p2: { id: 'p2', name: null, price: 3, tags: [] },
  // A row the data promises and does not keep: a null price for a non-null field.
  p3: { id: 'p3', name: 'Broken', price: null, tags: ['x'] },
};
const find = (id: string) => {
  if (id.includes('\u0000')) throw new MeshError(ErrorCode.BAD_USER_INPUT, `product id must not contain NUL`);
  return rows[id] ?? null;
};
const resolvers = {
  Query: {
    product: (_: unknown, a: { id: string }) => find(a.id),
    products: async (_: unknown, a: { ids: string[] }) => a.ids.map(find),
    strict: (_: unknown, a: { ids: string[] }) => a.ids.map(find),
    priced: () => [rows.p1, { __typename: 'Bundle', id: 'b1', price: 14, items: [rows.p1, rows.p2] }],
    // Which engine ran the operation: graphql-js's response paths name their parent type, graphql-jit's do not.
    engine: (_: unknown, __: unknown, ___: unknown, info: GraphQLResolveInfo) =>
      'typename' in info.path ? 'graphql-js' : 'graphql-jit',
    lazy: async () => lazy('l1'),
    lazyList: async () => [rows.p1, lazy('l2')],
    lazyItems: () => [Promise.resolve(lazy('l3')), rows.p2],
    lazyNow: () => lazy('l4'),
    // A field without a resolver whose value is a promise, which graphql-js awaits.
    holder: async () => ({ id: 'h1', product: Promise.resolve(rows.p1) }),
    holderNow: () => ({ id: 'h2', product: Promise.resolve(rows.p1) }),
    holderList: async () => ({ id: 'h3', products: [Promise.resolve(lazy('l5')), Promise.resolve(rows.p1)] }),
  },
  Priced: { __resolveType: (v: { __typename?: string }) => v.__typename ?? 'Product' },
  Product: {
    __resolveReference: (ref: { id: string }) => find(ref.id),
    tags: (p: { tags: string[] }, a: { first: number }) => p.tags.slice(0, a.first),
    secret: async (p: { id: string }) => {
      throw new MeshError(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, `not for you: ${p.id}`);
    },
  },
};

const operations: [string, string, Record<string, unknown>?][] = [
  ['fields and arguments', '{ product(id: "p1") { id name price tags tags3: tags(first: 3) } }'],
  ['a missing row', '{ product(id: "nope") { id } }'],
  [
    'variables, aliases and fragments',
    'query Q($id: ID!, $n: Int) { a: product(id: $id) { ...F } b: product(id: "p2") { ...F } } fragment F on Product ' +
      '{ id name tags(first: $n) }',
    { id: 'p1', n: 1 },
  ],
  [
    'skip and include',
    'query($s: Boolean!) { product(id: "p1") { id name @skip(if: $s) price @include(if: $s) } }',
    { s: true },
  ],
  [
    'an interface and inline fragments',
    '{ priced { __typename price ... on Product { name } ... on Bundle { items { id } } } }',
  ],
  [
    'entities',
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name } } }',
    {
      r: [
        { __typename: 'Product', id: 'p2' },
        { __typename: 'Product', id: 'p1' },
      ],
    },
  ],
  ['a coded resolver error, once per list item', '{ products(ids: ["p1", "p2"]) { id secret } }'],
  ['a coded error from an argument', '{ product(id: "p\\u0000") { id } }'],
  ['a null in a non-null field: nulls the nullable item', '{ products(ids: ["p1", "p3"]) { id price } }'],
  ['a null in a non-null field: nulls up to the nullable root field', '{ strict(ids: ["p1", "p3"]) { id price } }'],
  ['variables that do not fit', 'query($id: ID!) { product(id: $id) { id } }', { id: { no: 'object' } }],
  ['a missing required variable', 'query($id: ID!) { product(id: $id) { id } }', {}],
  ['typename and the service SDL', '{ __typename _service { sdl } }'],
  // graphql-jit alone would leave these pending and end the process (an unhandled rejection).
  ['a field that throws as it is read, below a resolver promise', '{ lazy { id name } }'],
  ['a field that throws as it is read, in a list below a resolver promise', '{ lazyList { id name } }'],
  ['a field that throws as it is read, in a list of promises', '{ lazyItems { id name } }'],
  ['a field that throws as it is read, below a resolver that answers at once', '{ lazyNow { id name } }'],
  // graphql-jit alone would answer these with the promise read as a product: every field null, and no error.
  ['a promise in a field without a resolver, below a resolver promise', '{ holder { id product { name } } }'],
  [
    'a promise in a field without a resolver, below a resolver that answers at once',
    '{ holderNow { id product { name } } }',
  ],
  // graphql-jit alone would await these items outside any resolver's promise: the getter's throw would end the process.
  [
    'promises in a list without a resolver, one with a field that throws as it is read',
    '{ holderList { id products { id name } } }',
  ],
];

describe('subgraph operations compiled by graphql-jit', () => {
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]);
  // The reference runs graphql-js on a schema of its own: compiledExecution wraps the resolvers of the one it is given.
  const referenceSchema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]);
  // As serveSubgraph formats errors: the resolver's own error must reach the formatter behind the GraphQL error.
  const formatError = (formatted: GraphQLFormattedError, error: unknown) => {
    const original = unwrapResolverError(error);
    return isMeshError(original)
      ? { ...formatted, extensions: { ...formatted.extensions, thrown: original.code } }
      : formatted;
  };
  // As serveSubgraph runs it: with no plugin that instruments every field (inline tracing, cache control), graphql-jit
  // reads default-resolved fields itself instead of calling a resolver.
  const options = {
    formatError,
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled()],
  };
  const reference = new ApolloServer({ schema: referenceSchema, ...options });
  const fellBack: unknown[] = [];
  const compiled = new ApolloServer({
    gateway: compiledExecution(schema, { maxOperations: 4, onCompileError: (err) => fellBack.push(err) }),
    ...options,
  });
  const failures: unknown[] = [];
  const uncompilable = new ApolloServer({
    gateway: compiledExecution(schema, {
      compile: () => {
        throw new Error('not supported');
      },
      onCompileError: (err) => failures.push(err),
    }),
    ...options,
  });
  beforeAll(async () => Promise.all([reference.start(), compiled.start(), uncompilable.start()]));
  afterAll(async () => Promise.all([reference.stop(), compiled.stop(), uncompilable.stop()]));

  const answer = async (server: ApolloServer, query: string, variables?: Record<string, unknown>) => {
    // A request left pending fails here, in seconds, rather than at the test's timeout.
    let timer: NodeJS.Timeout | undefined;
    const pending = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within 10 s to ${query}`)), 10_000)),
    );
    const res = await Promise.race([server.executeOperation({ query, variables }), pending]).finally(() =>
      clearTimeout(timer),
    );
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return { status: res.http.status ?? 200, ...res.body.singleResult };
  };

  it('run on graphql-js the first time a document comes, and compiled from the second time on', async () => {
    const engines = [];
    for (let i = 0; i < 3; i++) engines.push((await answer(compiled, '{ engine }')).data?.engine);
    expect(engines).toEqual(['graphql-js', 'graphql-jit', 'graphql-jit']);
  });

  it('answer exactly as graphql-js does: data, errors with codes, paths and locations, the HTTP status', async () => {
    // Each document three times: once as it first comes, then compiled, then from the cache of compiled ones.
    for (const [what, query, variables] of operations.flatMap((o) => [o, o, o])) {
      const expected = await answer(reference, query, variables);
      const got = await answer(compiled, query, variables);
      if (what.startsWith('variables that do not fit') || what.startsWith('a missing required')) {
        // The client's mistake either way; the engines word it differently.
        expect([got.status, got.data, got.errors?.map((e) => e.extensions?.code)], what).toEqual([
          expected.status,
          expected.data,
          expected.errors?.map((e) => e.extensions?.code),
        ]);
        expect([got.status, got.errors![0]!.message], what).toEqual([400, expect.stringMatching(/\$id/)]);
        continue;
      }
      expect(got, what).toEqual(expected);
    }
    // Only the operations graphql-jit cannot complete went back to graphql-js, each once.
    const promised = 'a Product read from a field without a resolver is a promise, which graphql-jit does not await';
    const listed = 'Holder.products holds promises, which graphql-jit completes outside any resolver';
    expect(fellBack.map((e) => (e as Error).message)).toEqual([
      'no name for l1',
      'no name for l2',
      'no name for l3',
      'no name for l4',
      promised,
      promised,
      listed,
    ]);
  });

  it('stay on graphql-js, with the same answers, when an operation cannot be compiled', async () => {
    for (let i = 0; i < 3; i++) expect((await answer(uncompilable, '{ engine }')).data?.engine).toBe('graphql-js');
    const query = '{ products(ids: ["p1", "p3"]) { id price secret } }';
    for (let i = 0; i < 3; i++) expect(await answer(uncompilable, query)).toEqual(await answer(reference, query));
    // Tried once per document, not on every request.
    expect(failures).toHaveLength(2);
  });

  it('hand an operation to graphql-js for good when graphql-jit cannot complete a value, and say so once', async () => {
    const told: unknown[] = [];
    const server = new ApolloServer({
      gateway: compiledExecution(buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]), {
        onCompileError: (err) => told.push(err),
      }),
      ...options,
    });
    await server.start();
    try {
      const engines = [];
      for (let i = 0; i < 4; i++) {
        const got = await answer(server, '{ engine lazy { id name } }');
        expect(got.errors?.map((e) => [e.path, e.message])).toEqual([[['lazy', 'name'], 'no name for l1']]);
        engines.push(got.data?.engine);
      }
      // The second request ran compiled, met the getter and was answered again by graphql-js.
      expect(engines).toEqual(['graphql-js', 'graphql-js', 'graphql-js', 'graphql-js']);
      expect(told.map((e) => (e as Error).message)).toEqual(['no name for l1']);
    } finally {
      await server.stop();
    }
  });

  it("leave introspection's types, which every schema of the process shares, as they are", () => {
    const before = [__Type.isTypeOf, ...Object.values(__Type.getFields()).map((f) => f.resolve)];
    compiledExecution(buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]));
    expect([__Type.isTypeOf, ...Object.values(__Type.getFields()).map((f) => f.resolve)]).toEqual(before);
  });

  it('keep answering right when more operations arrive than the cache of compiled ones holds', async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 6; i++) {
        const query = `query Op${i} { product(id: "p${(i % 2) + 1}") { id name tags(first: ${i}) } }`;
        expect(await answer(compiled, query), query).toEqual(await answer(reference, query));
      }
    }
  });
});
