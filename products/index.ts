// Data products' public module: store keys, published manifests and their readers, and the domain toolkit that
// subgraphs/*/resolvers.ts import (the subgraph runtime, loaders, pagination). Add exports with intention.
export { jobMetricsText, jobRunSamples, reportJobMetrics, type JobSample } from './jobMetrics.js';
export {
  FEATURE_REGISTRY_KEY,
  LEGACY_PAUSED_KEY,
  featureRegistryObjectKey,
  JOB_METRICS_PREFIX,
  PLATFORM_SEGMENT,
  PUBLISHED_SUPERGRAPH_KEY,
  SIMULATION_STATE_KEY,
  USAGE_PREFIX,
  curatedManifestKey,
  curatedPrefix,
  currentModelKey,
  extractManifestKey,
  featureQuarantinePrefix,
  ingestStatePrefix,
  modelKey,
  offlineFeaturesManifestKey,
  offlineFeaturesPrefix,
  quarantinePrefix,
  rawPrefix,
  restrictedPrefix,
  runKey,
  runsPrefix,
  jobMetricsKey,
  schemaChecksPrefix,
  schemaIndexKey,
  schemaObjectKey,
  supergraphObjectKey,
  schemaVersionKey,
  stagedPrefix,
  usageKey,
  STORE_LAYERS,
  type StoreLayer,
} from './storeLayout.js';
export { curatedName, featureTableName, rawName } from './names.js';
export { publishParquet, rowsDigest } from './publish.js';
export {
  curatedDatasetPaths,
  currentDataVersion,
  datasetFiles,
  currentManifest,
  dataAgeHours,
  recentRuns,
  recordStreamFreshness,
  streamFreshness,
  type FreshnessSample,
  type StreamFreshness,
} from './readers.js';
export { API_DIR, loadEndpoints, parseEndpoint, type RestEndpoint } from './api/endpoints.js';
export { readParameters } from './api/parameters.js';
export {
  bindEndpoint,
  type BoundEndpoint,
  type FieldAnnotator,
  type JsonSchema,
  type ResourceKind,
  type RestParameter,
} from './api/shape.js';
export { byKey, listByKey, pageByKey, pagesByKey, rowByKey, rowsByKey } from './subgraph/loaders.js';
export type { LookupSpec } from './subgraph/servingCopy.js';
export { decodeCursor, encodeCursor, keysetConnection, pageSize } from './subgraph/pagination.js';
export { DateTime } from './subgraph/scalars.js';
export {
  DATA_VERSION_HEADER,
  SCHEMA_FILE,
  startSubgraph,
  type PiiGuard,
  type RunningSubgraph,
} from './subgraph/domainSubgraph.js';
export { serveSubgraph } from './subgraph/subgraphServer.js';
export {
  badUserInput,
  defineSubgraph,
  isoDate,
  type RuleTree,
  type ShieldRule,
  type SqlRunner,
  type SubgraphContext,
} from './subgraph/types.js';
// A domain's own field rules are graphql-shield rules, served in one tree with governance's PII rules.
export { allow, and, chain, deny, not, or, race, rule } from 'graphql-shield';
// Domains quote values with the runtime's own quoting.
export { sqlString } from '../platform/index.js';
export {
  type CuratedManifest,
  type DatasetFile,
  type DatasetOutput,
  type IngestState,
  type PublishedFile,
  type SourceState,
  type QualityResult,
  type RunRecord,
  type StreamBatch,
  type SourceAccounting,
} from './types.js';
