import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';
import type { Metrics } from '../../platform/index.js';
import type { RolePolicy, UsageRecorder } from '../../governance/index.js';
import type { OperationLineage } from '../../lineage/index.js';
import type { GatewayContext } from '../context.js';
import { useAccessReport } from './useAccessReport.js';
import { useAuthorization, type PiiOwners } from './useAuthorization.js';
import { useFetchStats } from './useFetchStats.js';
import { useHttpStatus } from './useHttpStatus.js';
import { useLineage } from './useLineage.js';
import { useSubgraphErrors } from './useSubgraphErrors.js';
import { useUsageRecording } from './useUsageRecording.js';
import { useResponseCache, type ResponseCacheOptions } from './useResponseCache.js';
import { useAdmission, type AdmissionOptions } from './useAdmission.js';

/** What governance adds to the gateway; absent on the plain gateway benchmarks compare against. */
export interface Governance {
  policy: RolePolicy;
  usage: UsageRecorder;
  lineage: OperationLineage;
}

/** Most lexical tokens a document may have; past it, parsing stops (GRAPHQL_PARSE_FAILED, 400). */
export const MAX_TOKENS = 2000;

/**
 * Every gateway feature, composed here and only here, in the order they must run. Usage, lineage and the access report
 * come before authorization, which prunes the document: they see what the client asked for.
 */
export function gatewayPlugins(o: {
  metrics: Metrics;
  production: boolean;
  state: { pii: PiiOwners };
  governance?: Governance;
  cache?: Omit<ResponseCacheOptions, 'metrics'>;
  admission?: Omit<AdmissionOptions, 'metrics'>;
}): {
  plugins: ApolloServerPlugin<GatewayContext>[];
  validationRules: ValidationRule[];
  parseOptions: { maxTokens: number };
} {
  const armor = new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 20 },
    // Tokens are counted by graphql-js while parsing (parseOptions below): armor's count throws from a plugin hook,
    // which Apollo can only answer with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 20 },
    costLimit: { maxCost: 10_000 },
    blockFieldSuggestion: { enabled: o.production },
  }).protect(); // its types come from the CommonJS build of @apollo/server; the plugins are the same objects
  const g = o.governance;
  return {
    parseOptions: { maxTokens: MAX_TOKENS },
    validationRules: armor.validationRules as ValidationRule[],
    plugins: [
      // First: it holds execution results, and every plugin below finishes a cached answer as it does a fresh one.
      ...(o.cache && o.cache.maxEntries > 0 ? [useResponseCache({ ...o.cache, metrics: o.metrics })] : []),
      // HTTP cache hints are not what decides caching here (the data version does): not computed.
      ApolloServerPluginCacheControlDisabled(),
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      o.metrics.requestPlugin<GatewayContext>((c) => c.client),
      // Before any subgraph is asked: a request its caller's budget cannot pay never reaches one.
      ...(o.admission ? [useAdmission({ ...o.admission, metrics: o.metrics })] : []),
      useFetchStats(o.metrics),
      ...(g
        ? [
            useUsageRecording(g.usage),
            useLineage(g.lineage, g.policy, o.state),
            useAccessReport(g.policy, o.state),
            useAuthorization(g.policy, o.state),
          ]
        : []),
      useSubgraphErrors(),
      useHttpStatus(),
    ],
  };
}
