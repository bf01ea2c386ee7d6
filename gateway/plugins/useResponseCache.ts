import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { ErrorCode, type Metrics } from '../../platform/index.js';
import type { GatewayContext } from '../context.js';

type Result = Extract<GraphQLResponse['body'], { kind: 'single' }>['singleResult'];

export interface ResponseCacheOptions {
  /** Most answers held; the least recently used go first. */
  maxEntries: number;
  /** The data version now current in the store (`currentDataVersion`), or undefined while unknown. */
  version: () => string | undefined;
  /**
   * Subgraphs whose answers follow the data version alone: the domain subgraphs (not features, which follow the online
   * store).
   */
  versioned: ReadonlySet<string>;
  metrics: Metrics;
}

/**
 * Errors that depend on nothing but the role and the document: an answer carrying them is as cacheable as one without.
 */
const DETERMINISTIC = new Set<string>([ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE]);

/**
 * Execution results of queries, keyed by (data version, role, document, operation name, variables). An entry is stored
 * only when every subgraph the query reached is a domain subgraph that served it from that very version, so it is
 * reused until the next publication and no longer: a new version is a new key. Roles never share an entry, so masked
 * and clear answers never cross. It holds the result as execution produced it, before the other plugins' finishing
 * (denials, access report, error codes), which therefore run on a hit exactly as on a miss: it must be the first
 * plugin.
 */
export function useResponseCache(o: ResponseCacheOptions): ApolloServerPlugin<GatewayContext> {
  // With each result, the data version each subgraph served it from: a hit reports what it was read from (REST ETags).
  const entries = new Map<string, { result: Result; served: Record<string, string> }>();
  // Admission on second sight: a key is stored the second time it is asked for. Distinct traffic (a different customer
  // each time) then costs no copy and no heap; what repeats is cached from its second answer on.
  const seen = new Set<string>();
  const count = (outcome: 'hit' | 'miss' | 'stored' | 'uncacheable') => o.metrics.responseCache.inc({ outcome });
  return {
    async requestDidStart() {
      let key: string | undefined;
      let version: string | undefined;
      let hit = false;
      return {
        async responseForOperation(ctx) {
          version = o.version();
          if (ctx.operation?.operation !== 'query' || !version || ctx.request.query === undefined) return null;
          key = createHash('sha256')
            .update(
              [
                version,
                ctx.contextValue.identity.role,
                ctx.request.operationName ?? '',
                JSON.stringify(ctx.request.variables ?? {}),
                ctx.request.query,
              ].join('\u0000'),
            )
            .digest('base64url');
          const held = entries.get(key);
          if (!held) {
            count('miss');
            return null;
          }
          // Least recently used goes first: a hit moves to the end.
          entries.delete(key);
          entries.set(key, held);
          hit = true;
          count('hit');
          Object.assign(ctx.contextValue.stats.dataVersions, held.served);
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: structuredClone(held.result) },
          };
        },
        async willSendResponse(ctx) {
          if (hit) return void ctx.response.http.headers.set('x-mesh-cache', 'hit');
          if (!key || ctx.response.body.kind !== 'single') return;
          ctx.response.http.headers.set('x-mesh-cache', 'miss');
          const result = ctx.response.body.singleResult;
          const served = ctx.contextValue.stats.dataVersions;
          const fetched = Object.keys(ctx.contextValue.stats.subgraphFetches);
          const cacheable =
            fetched.length > 0 &&
            fetched.every((s) => o.versioned.has(s) && served[s] === version) &&
            (result.errors ?? []).every((e) => DETERMINISTIC.has(String(e.extensions?.code))) &&
            version === o.version();
          if (!cacheable) return count('uncacheable');
          if (!seen.delete(key)) {
            seen.add(key);
            if (seen.size > o.maxEntries) seen.delete(seen.values().next().value!);
            return;
          }
          // A copy: the plugins after this one finish the response by changing it.
          entries.set(key, { result: structuredClone(result), served: { ...served } });
          if (entries.size > o.maxEntries) entries.delete(entries.keys().next().value!);
          count('stored');
        },
      };
    },
  };
}
