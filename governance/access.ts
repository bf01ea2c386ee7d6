import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, MeshError, ErrorCode } from '../platform/index.js';

export type PiiAccess = 'clear' | 'masked' | 'deny';

/** What a role may do through Feast REST, in increasing order. */
export type FeatureAccess = 'read' | 'write' | 'operate';

export interface RolePolicy {
  roles: Record<string, { description?: string; pii: PiiAccess; features?: FeatureAccess }>;
  domainOwner: { own: PiiAccess; others: PiiAccess };
}

export const ROLES_PATH = path.join(REPO_ROOT, 'governance', 'roles.yaml');
const ACCESS: readonly PiiAccess[] = ['clear', 'masked', 'deny'];
const FEATURE_ACCESS: readonly FeatureAccess[] = ['read', 'write', 'operate'];

let cached: RolePolicy | undefined;

export function loadRoles(file = ROLES_PATH): RolePolicy {
  if (file === ROLES_PATH && cached) return cached;
  const raw = parse(fs.readFileSync(file, 'utf8')) as Partial<RolePolicy> | null;
  const bad = (msg: string): never => {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: ${msg}`);
  };
  if (!raw?.roles || typeof raw.roles !== 'object') bad('roles are required');
  for (const [name, r] of Object.entries(raw!.roles!)) {
    if (!ACCESS.includes(r?.pii)) bad(`role "${name}": pii must be one of ${ACCESS.join(', ')}`);
    if (r.features !== undefined && !FEATURE_ACCESS.includes(r.features))
      bad(`role "${name}": features must be one of ${FEATURE_ACCESS.join(', ')}`);
  }
  if (!raw!.domainOwner || !ACCESS.includes(raw!.domainOwner.own) || !ACCESS.includes(raw!.domainOwner.others))
    bad('domainOwner.own and domainOwner.others are required');
  const policy = raw as RolePolicy;
  if (file === ROLES_PATH) cached = policy;
  return policy;
}

/** Every role a token may carry: the policy's roles plus `<domain>-owner` for each domain. */
export function knownRoles(policy: RolePolicy, domains: string[]): string[] {
  return [...Object.keys(policy.roles), ...domains.map((d) => `${d}-owner`)];
}

/** What `role` gets for a PII field owned by `domain`; undefined for a role the policy does not know. */
export function piiAccess(policy: RolePolicy, role: string, domain: string): PiiAccess | undefined {
  // Own properties only: a role named "constructor" is not Object's.
  const fixed = Object.hasOwn(policy.roles, role) ? policy.roles[role] : undefined;
  if (fixed) return fixed.pii;
  const owner = /^(.+)-owner$/.exec(role);
  if (owner) return owner[1] === domain ? policy.domainOwner.own : policy.domainOwner.others;
  return undefined;
}

/**
 * A PII field as the rules see it: its owning domain, and whether a token of it would be reversible (a low-entropy kind
 * its contract does not tokenize).
 */
export interface PiiFieldOwner {
  domain: string;
  reversible: boolean;
}

/** What `role` gets for one PII field: its domain's access, except that a reversible token is denied instead. */
export function fieldAccess(policy: RolePolicy, role: string, owner: PiiFieldOwner): PiiAccess | undefined {
  const access = piiAccess(policy, role, owner.domain);
  return access === 'masked' && owner.reversible ? 'deny' : access;
}

/** What `role` may do through Feast REST: its `features:` in the policy, read for any other known role. */
export function featureAccess(policy: RolePolicy, role: string): FeatureAccess {
  return (Object.hasOwn(policy.roles, role) ? policy.roles[role]!.features : undefined) ?? 'read';
}
