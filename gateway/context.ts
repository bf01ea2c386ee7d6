import type { IncomingMessage } from 'node:http';
import { authenticateBearer, type MeshConfig, type Identity } from '../platform/index.js';

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
  return { identity: await authenticateBearer(req.headers.authorization, auth, roles), client, stats };
}
