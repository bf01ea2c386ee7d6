import { GraphQLError, isObjectType, type GraphQLSchema } from 'graphql';
import { ErrorCode, type DomainInfo } from '../platform/index.js';
import { applyMiddleware, type IMiddlewareFunction } from 'graphql-middleware';
import type { PiiGuard } from '../products/index.js';
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
 * Field middleware generated from the role policy and the schema's @pii annotations: a role denied a domain's PII gets
 * null and an UNAUTHORIZED_FIELD_OR_TYPE error for that field, and so does a role that would get a reversible token
 * (`reversible(kind)`: a token of a card ending is). Masked and clear values are the resolvers' job. Only @pii fields
 * are wrapped: a shield around every field cost a sixth of a subgraph's time per request.
 */
export function piiShield(
  schema: GraphQLSchema,
  domain: string,
  policy: RolePolicy,
  reversible: (kind: string) => boolean = () => false,
): Record<string, Record<string, IMiddlewareFunction>> {
  const middleware: Record<string, Record<string, IMiddlewareFunction>> = {};
  for (const f of piiFields(schema)) {
    const owner = { domain, reversible: reversible(f.kind) };
    (middleware[f.type] ??= {})[f.field] = (resolve, parent, args, ctx: { identity: { role: string } }, info) => {
      if (fieldAccess(policy, ctx.identity.role, owner) !== 'deny') return resolve(parent, args, ctx, info);
      const why =
        owner.reversible && piiAccess(policy, ctx.identity.role, domain) === 'masked'
          ? `a token of ${f.kind} data would be reversible; only roles with clear access may read it`
          : undefined;
      throw unauthorizedField(f.type, f.field, ctx.identity.role, why);
    };
  }
  return middleware;
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
    protect: (schema, domain) =>
      applyMiddleware(
        schema,
        piiShield(schema, domain, policy, (kind) => reversible(domain, kind)),
      ),
  };
}
