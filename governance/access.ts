import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, MeshError, ErrorCode } from '../platform/index.js';

export type PiiAccess = 'clear' | 'masked' | 'deny';

export interface RolePolicy {
  roles: Record<string, { description?: string; pii: PiiAccess }>;
  domainOwner: { own: PiiAccess; others: PiiAccess };
}

export const ROLES_PATH = path.join(REPO_ROOT, 'governance', 'roles.yaml');
const ACCESS: readonly PiiAccess[] = ['clear', 'masked', 'deny'];

let cached: RolePolicy | undefined;

export function loadRoles(file = ROLES_PATH): RolePolicy {
  if (file === ROLES_PATH && cached) return cached;
  const raw = parse(fs.readFileSync(file, 'utf8')) as Partial<RolePolicy> | null;
  const bad = (msg: string): never => {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: ${msg}`);
  };
  if (!raw?.roles || typeof raw.roles !== 'object') bad('roles are required');
  for (const [name, r] of Object.entries(raw!.roles!)) if (!ACCESS.includes(r?.pii)) bad(`role "${name}": pii must be one of ${ACCESS.join(', ')}`);
  if (!raw!.domainOwner || !ACCESS.includes(raw!.domainOwner.own) || !ACCESS.includes(raw!.domainOwner.others)) bad('domainOwner.own and domainOwner.others are required');
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
  const fixed = policy.roles[role];
  if (fixed) return fixed.pii;
  const owner = /^(.+)-owner$/.exec(role);
  if (owner) return owner[1] === domain ? policy.domainOwner.own : policy.domainOwner.others;
  return undefined;
}
