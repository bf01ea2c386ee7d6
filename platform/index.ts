// The runtime's public module: what every layer above may import. Add exports with intention; the rest is internal.
export {
  IDENTITY_HEADER,
  authenticateBearer,
  signInternalIdentity,
  signUserToken,
  verifyInternalIdentity,
  type Identity,
} from './auth.js';
export {
  REPO_ROOT,
  childEnvironment,
  loadConfig,
  type BucketLayout,
  type MeshConfig,
  type OnlineStoreConfig,
} from './config.js';
export { ControlDatabase, claimStore, createControlPlane, updateRecord, type ControlPlane } from './control/index.js';
export {
  createEventStream,
  framed,
  unframed,
  type EventStream,
  type StreamEvent,
  type StreamMessage,
} from './stream/index.js';
export { createPlatform, platformAs, withStore, type LineagePort, type Platform } from './platform.js';
export { DECLARED_COLUMNS, LINEAGE_FILE, listDomains, selectDomains, type DomainInfo } from './domains.js';
export { Duck, readParquet, sqlIdent, sqlList, sqlString, type Row } from './duckdb.js';
export { ErrorCode, MeshError, httpStatus, isMeshError } from './errors.js';
export { faultPoint } from './faults.js';
export { CostBudgets, HeavyPool, type Admission } from './admission.js';
export { ThreadPool } from './threads.js';
export { writeAtomic } from './files.js';
export {
  freePort,
  graphqlRoute,
  listen,
  readJson,
  requireJsonBody,
  requireMethod,
  sendErrorProblem,
  sendJson,
  sendProblem,
  setErrorHeaders,
  withinDeadline,
  withinDepth,
  type Listening,
  type Route,
} from './http.js';
export { logFormat, type Logger } from './log.js';
export { Metrics, type FetchCounts } from './metrics.js';
export {
  columnLineageFacet,
  dataQualityAssertionsFacet,
  datasetVersionFacet,
  documentationFacet,
  errorMessageFacet,
  inputFields,
  jobDocumentationFacet,
  jobOwnershipFacet,
  jobTypeFacet,
  operationStatsFacet,
  ownershipFacet,
  parentRunFacet,
  runEvent,
  runUuid,
  schemaFacet,
  type FieldEdge,
  type InputField,
  type RunEvent,
} from './openlineage.js';
export { operationSignature } from './operationSignature.js';
export { included, inclusionKey } from './selections.js';
export { Progress, formatMs } from './progress.js';
export {
  bucketOf,
  fenceWrites,
  getJson,
  migrateStoreToBuckets,
  PLATFORM_BUCKET_OWNER,
  PLATFORM_SEGMENT,
  putJson,
  splitKey,
  type ObjectInfo,
  type ObjectStore,
  type ObjectTags,
} from './store/index.js';
export {
  Supervisor,
  announceServing,
  closeThenExit,
  serveGate,
  type ProcessSpec,
  type ProcessState,
  type ProcessStates,
  type ServedProcess,
} from './supervisor.js';
export { sweepStaleTemp } from './tmp.js';
export { sqlLineage, type ColumnEdge, type ColumnTransformation, type StatementLineage } from './sqlLineage.js';
