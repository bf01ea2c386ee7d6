import { describe, expect, it } from 'vitest';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute } from 'graphql';
import { listDomains, loadConfig } from '../../platform/index.js';
import { rule } from '../../products/index.js';
import { piiGuard } from '../piiGuard.js';

// A subgraph of the payments domain in miniature: a name (masked for analysts), a card ending (a low-entropy kind:
// denied to everyone without clear access) and fields without any rule.
const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
  directive @pii(kind: String!) on FIELD_DEFINITION
  type Query { payment(id: ID!): Payment }
  type Payment @key(fields: "id") {
    id: ID!
    amount: Float
    holder: String @pii(kind: "name")
    cardLast4: String @pii(kind: "card")
    riskScore: Float
  }
`;
const resolvers = {
  Query: {
    payment: (_: unknown, { id }: { id: string }) => ({ id, amount: 12.5, holder: 'tok_ab12', cardLast4: '4242' }),
  },
  Payment: { riskScore: () => 0.17 },
};
const guard = piiGuard(listDomains(loadConfig({}).domainsDir));

function served(rules?: Parameters<typeof guard.protect>[2]): GraphQLSchema {
  return guard.protect(
    buildSubgraphSchema([{ typeDefs: parse(SDL), resolvers: resolvers as never }]),
    'payments',
    rules,
  );
}

async function ask(schema: GraphQLSchema, role: string, fields: string) {
  const result = await execute({
    schema,
    document: parse(`{ payment(id: "p-1") { ${fields} } }`),
    contextValue: { identity: { sub: 'test', role } },
  });
  return {
    data: (result.data as { payment: Record<string, unknown> } | undefined)?.payment,
    errors: (result.errors ?? []).map((e) => `${e.path?.join('.')} ${e.extensions.code}`),
  };
}

describe('the PII rules are a graphql-shield rule tree generated from policy.yaml, roles.yaml and @pii', () => {
  it('clear for the owning domain, masked or denied by role, a reversible token denied', async () => {
    const schema = served();
    const fields = 'id amount holder cardLast4';
    expect(await ask(schema, 'payments-owner', fields)).toEqual({
      data: { id: 'p-1', amount: 12.5, holder: 'tok_ab12', cardLast4: '4242' },
      errors: [],
    });
    expect(await ask(schema, 'analyst', fields)).toEqual({
      data: { id: 'p-1', amount: 12.5, holder: 'tok_ab12', cardLast4: null },
      errors: ['payment.cardLast4 UNAUTHORIZED_FIELD_OR_TYPE'],
    });
    expect(await ask(schema, 'ml-engineer', fields)).toEqual({
      data: { id: 'p-1', amount: 12.5, holder: null, cardLast4: null },
      errors: ['payment.holder UNAUTHORIZED_FIELD_OR_TYPE', 'payment.cardLast4 UNAUTHORIZED_FIELD_OR_TYPE'],
    });
  });

  it('wraps the fields that have a rule, and only those: the others keep their own resolvers', () => {
    const plain = buildSubgraphSchema([{ typeDefs: parse(SDL), resolvers: resolvers as never }]);
    const fields = (s: GraphQLSchema) => s.getQueryType()!.getFields().payment!;
    const payment = (s: GraphQLSchema) => (s.getType('Payment') as import('graphql').GraphQLObjectType).getFields();
    const schema = served();
    expect(payment(schema).riskScore!.resolve).toBe(payment(plain).riskScore!.resolve);
    expect(fields(schema).resolve).toBe(fields(plain).resolve);
    expect(payment(schema).holder!.resolve).not.toBe(payment(plain).holder!.resolve);
  });

  it("a domain's own rule joins the same tree: alone on its field, with the PII rule where both apply", async () => {
    const ownersOnly = rule('payments:owners-only', { cache: 'contextual' })(
      (_p, _a, ctx: { identity: { role: string } }) =>
        ctx.identity.role === 'payments-owner' || ctx.identity.role === 'admin',
    );
    const schema = served({ Payment: { riskScore: ownersOnly, holder: ownersOnly } });
    expect(await ask(schema, 'payments-owner', 'riskScore holder')).toEqual({
      data: { riskScore: 0.17, holder: 'tok_ab12' },
      errors: [],
    });
    // Analysts may see the holder masked by the PII rule, but the domain's rule refuses them both fields.
    expect(await ask(schema, 'analyst', 'riskScore holder amount')).toEqual({
      data: { riskScore: null, holder: null, amount: 12.5 },
      errors: ['payment.riskScore UNAUTHORIZED_FIELD_OR_TYPE', 'payment.holder UNAUTHORIZED_FIELD_OR_TYPE'],
    });
    const refused = await execute({
      schema,
      document: parse('{ payment(id: "p-1") { riskScore } }'),
      contextValue: { identity: { sub: 'test', role: 'analyst' } },
    });
    expect(refused.errors?.[0]?.message).toBe('Payment.riskScore is not available to role "analyst"');
  });

  it('a rule naming a field the schema does not have is refused when the subgraph starts', () => {
    const typo = rule('payments:typo')(() => true);
    expect(() => served({ Payment: { riskScroe: typo } })).toThrow(/Payment\.riskScroe/);
  });
});
