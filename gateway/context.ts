import type { IncomingMessage } from 'node:http';
import { authenticateBearer, type MeshConfig, type Identity } from '../platform/index.js';

export interface GatewayContext {
  identity: Identity;
  /** The identity signed for each subgraph, made once per request and subgraph. */
  identityTokens?: Record<string, string>;
  client: string;
  /**
   * What the request cost and read: DuckDB queries, fetches and the data version each subgraph served (`''`: mixed or
   * none).
   */
  stats: { duckdbQueries: number; subgraphFetches: Record<string, number>; dataVersions: Record<string, string> };
}

/**
 * Who is calling: a verified bearer token with a role the policy knows (401 / 403 otherwise), or admin in open mode.
 */
export async function gatewayContext(
  req: IncomingMessage,
  auth: MeshConfig['auth'],
  roles: string[],
  open: boolean,
): Promise<GatewayContext> {
  const client = clientName(req.headers['apollographql-client-name'] ?? req.headers['x-client-name']);
  const stats = { duckdbQueries: 0, subgraphFetches: {}, dataVersions: {} };
  if (open) return { identity: { sub: 'open-mode', role: 'admin' }, client, stats };
  return { identity: await authenticateBearer(req.headers.authorization, auth, roles), client, stats };
}

/** The client's own name for itself, cleaned and cut to 64 characters: it is stored with usage and lineage. */
export function clientName(header: string | string[] | undefined): string {
  const raw = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!raw) return 'unknown';
  return raw.replace(/[^A-Za-z0-9_.:@/-]/g, '_').slice(0, 64);
}
