import { GraphQLError, isObjectType, type GraphQLSchema } from 'graphql';
import { shield, rule, allow, type IRule, type IRules } from 'graphql-shield';
import { ErrorCode } from '../platform/index.js';
import { applyMiddleware } from 'graphql-middleware';
import type { PiiGuard } from '../products/index.js';
import { knownRoles, loadRoles, piiAccess, type RolePolicy } from './access.js';

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
      out.push({ type: type.name, field: field.name, kind: kind?.value.kind === 'StringValue' ? kind.value.value : 'pii' });
    }
  }
  return out;
}

export function unauthorizedField(type: string, field: string, role: string): GraphQLError {
  return new GraphQLError(`${type}.${field} is personal data that role "${role}" may not read`, {
    extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, field: `${type}.${field}` },
  });
}

/**
 * graphql-shield rules generated from the role policy and the schema's @pii annotations: a role denied a domain's PII
 * gets null and an UNAUTHORIZED_FIELD_OR_TYPE error for that field; masked and clear values are the resolvers' job.
 */
export function piiShield(schema: GraphQLSchema, domain: string, policy: RolePolicy) {
  const rules: Record<string, Record<string, IRule>> = {};
  for (const f of piiFields(schema)) {
    (rules[f.type] ??= {})[f.field] = rule(`pii:${domain}:${f.type}.${f.field}`, { cache: 'contextual' })(
      (_parent, _args, ctx: { identity: { role: string } }) => (piiAccess(policy, ctx.identity.role, domain) === 'deny' ? unauthorizedField(f.type, f.field, ctx.identity.role) : true),
    );
  }
  return shield(rules as IRules, { fallbackRule: allow, allowExternalErrors: true });
}

/** The subgraph runtime's PII port, implemented from the role policy: who is known, who sees a domain's PII in clear, and the shield for the rest. */
export function piiGuard(domains: string[], policy: RolePolicy = loadRoles()): PiiGuard {
  const roles = new Set(knownRoles(policy, domains));
  return {
    knows: (role) => roles.has(role),
    clear: (role, domain) => piiAccess(policy, role, domain) === 'clear',
    protect: (schema, domain) => applyMiddleware(schema, piiShield(schema, domain, policy)),
  };
}
