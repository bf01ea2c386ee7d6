import type { IncomingMessage } from 'node:http';
import type { MeshConfig } from '../platform/config.js';
import { verifyUserToken, type Identity } from '../platform/auth.js';
import { MeshError, ErrorCode } from '../platform/errors.js';

export interface GatewayContext {
  identity: Identity;
  /** The identity signed for subgraphs, made once per request. */
  identityToken?: string;
  client: string;
  stats: { duckdbQueries: number; subgraphFetches: Record<string, number> };
}

/** Who is calling: a verified bearer token with a role the policy knows (401 / 403 otherwise), or admin in open mode. */
export async function gatewayContext(req: IncomingMessage, auth: MeshConfig['auth'], roles: string[], open: boolean): Promise<GatewayContext> {
  const client = String(req.headers['apollographql-client-name'] ?? req.headers['x-client-name'] ?? 'unknown');
  const stats = { duckdbQueries: 0, subgraphFetches: {} };
  if (open) return { identity: { sub: 'open-mode', role: 'admin' }, client, stats };
  const header = req.headers.authorization;
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) throw new MeshError(ErrorCode.UNAUTHENTICATED, 'missing bearer token: send "Authorization: Bearer <token>" (npx mesh token --role analyst)');
  const identity = await verifyUserToken(match[1]!, auth);
  if (!roles.includes(identity.role)) throw new MeshError(ErrorCode.FORBIDDEN, `role "${identity.role}" is not in the governance policy (known: ${roles.join(', ')})`);
  return { identity, client, stats };
}
