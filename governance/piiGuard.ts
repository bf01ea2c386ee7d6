import { GraphQLError, isObjectType, type GraphQLSchema } from 'graphql';
import { ErrorCode, type DomainInfo } from '../platform/index.js';
import { applyMiddleware, type IMiddlewareFunction } from 'graphql-middleware';
import { and, rule, shield } from 'graphql-shield';
import type { PiiGuard, RuleTree } from '../products/index.js';
import { fieldAccess, knownRoles, loadRoles, piiAccess, type RolePolicy } from './access.js';
import { loadContract } from './contracts/load.js';
import { deniedAsLowEntropy } from './masking.js';
import { loadPolicy, type GovernancePolicy } from './policy.js';

/** A field annotated `@pii(kind: …)` in a schema, and the kind of personal data it holds. */
export interface PiiField {
  type: string;
  field: string;
  kind: string;
}

export function piiFields(schema: GraphQLSchema): PiiField[] {
  const out: PiiField[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const directive = field.astNode?.directives?.find((d) => d.name.value === 'pii');
      if (!directive) continue;
      const kind = directive.arguments?.find((a) => a.name.value === 'kind');
      out.push({
        type: type.name,
        field: field.name,
        kind: kind?.value.kind === 'StringValue' ? kind.value.value : 'pii',
      });
    }
  }
  return out;
}

export function unauthorizedField(type: string, field: string, role: string, why?: string): GraphQLError {
  return new GraphQLError(
    `${type}.${field} is personal data that role "${role}" may not read${why ? `: ${why}` : ''}`,
    {
      extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, field: `${type}.${field}` },
    },
  );
}

/**
 * The PII rules of one domain's schema as a graphql-shield rule tree, one rule per @pii field from the role policy: a
 * role denied the domain's PII gets null and an UNAUTHORIZED_FIELD_OR_TYPE error for that field, and so does a role
 * that would get a reversible token (`reversible(kind)`: a token of a card ending is). Masked and clear values are the
 * resolvers' job. Each rule is cached per request (`contextual`): the answer depends on the role alone.
 */
export function piiRules(
  schema: GraphQLSchema,
  domain: string,
  policy: RolePolicy,
  reversible: (kind: string) => boolean = () => false,
): RuleTree {
  const rules: RuleTree = {};
  for (const f of piiFields(schema)) {
    const owner = { domain, reversible: reversible(f.kind) };
    (rules[f.type] ??= {})[f.field] = rule(`pii:${domain}:${f.type}.${f.field}`, { cache: 'contextual' })(
      (_parent, _args, ctx: { identity: { role: string } }) => {
        if (fieldAccess(policy, ctx.identity.role, owner) !== 'deny') return true;
        const why =
          owner.reversible && piiAccess(policy, ctx.identity.role, domain) === 'masked'
            ? `a token of ${f.kind} data would be reversible; only roles with clear access may read it`
            : undefined;
        return unauthorizedField(f.type, f.field, ctx.identity.role, why);
      },
    );
  }
  return rules;
}

/** The PII rules and a domain's own rules in one tree; a field with both needs both. */
export function mergeRules(pii: RuleTree, own: RuleTree = {}): RuleTree {
  const merged: RuleTree = Object.fromEntries(Object.entries(pii).map(([type, fields]) => [type, { ...fields }]));
  for (const [type, fields] of Object.entries(own))
    for (const [field, r] of Object.entries(fields)) {
      const pii = merged[type]?.[field];
      (merged[type] ??= {})[field] = pii ? and(pii, r) : r;
    }
  return merged;
}

const roleOf = (ctx: object) => (ctx as { identity?: { role: string } }).identity?.role ?? 'unknown';

/**
 * Wraps the fields a rule tree names, and only those, with graphql-shield: its generator wraps every field of the
 * schema (with the fallback rule where none is given), which made each of them asynchronous for nothing; fields
 * without a rule keep their own resolvers and cost nothing. A rule that refuses without saying why gets an
 * UNAUTHORIZED_FIELD_OR_TYPE error naming the field and the role; errors of the resolvers themselves pass untouched.
 */
export function applyRules(schema: GraphQLSchema, rules: RuleTree): GraphQLSchema {
  if (Object.keys(rules).length === 0) return schema;
  const generated = shield(rules, {
    allowExternalErrors: true,
    fallbackError: (_thrown, _parent, _args, ctx, info) =>
      new GraphQLError(`${info.parentType.name}.${info.fieldName} is not available to role "${roleOf(ctx)}"`, {
        extensions: {
          code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE,
          field: `${info.parentType.name}.${info.fieldName}`,
        },
      }),
  }).generate(schema) as Record<string, Record<string, IMiddlewareFunction>>;
  const named = Object.fromEntries(
    Object.entries(rules).map(([type, fields]) => [
      type,
      Object.fromEntries(Object.keys(fields).map((field) => [field, generated[type]![field]!])),
    ]),
  );
  return applyMiddleware(schema, named);
}

/**
 * Whether tokens of a domain's `kind` would be reversible: the kind is low-entropy in the governance policy and the
 * domain's contract does not list it in `tokenizedKinds`. Contracts are read once.
 */
export function reversibleKinds(
  domains: DomainInfo[],
  governance: GovernancePolicy = loadPolicy(),
): (domain: string, kind: string) => boolean {
  const byDomain = new Map(
    domains.map((d) => [
      d.name,
      new Set(
        governance.pii.lowEntropyKinds.filter((k) =>
          deniedAsLowEntropy(governance, loadContract(d.contractFile, d.name), k),
        ),
      ),
    ]),
  );
  return (domain, kind) => byDomain.get(domain)?.has(kind) ?? governance.pii.lowEntropyKinds.includes(kind);
}

/**
 * The subgraph runtime's PII port, implemented from the role policy, the governance policy and each domain's contract:
 * who is known, who sees a domain's PII in clear, and the shield for the rest.
 */
export function piiGuard(
  domains: DomainInfo[],
  policy: RolePolicy = loadRoles(),
  governance: GovernancePolicy = loadPolicy(),
): PiiGuard {
  const roles = new Set(
    knownRoles(
      policy,
      domains.map((d) => d.name),
    ),
  );
  const reversible = reversibleKinds(domains, governance);
  return {
    knows: (role) => roles.has(role),
    clear: (role, domain) => piiAccess(policy, role, domain) === 'clear',
    protect: (schema, domain, own) =>
      applyRules(
        schema,
        mergeRules(
          piiRules(schema, domain, policy, (kind) => reversible(domain, kind)),
          own,
        ),
      ),
  };
}
