// The platform's public surface: what components and domains may import. Add exports with intention.
export { loadConfig, REPO_ROOT, type MeshConfig, type StoreConfig } from './config.js';
export { createPlatform, type Platform } from './context.js';
export { MeshError, ErrorCode, isMeshError } from './errors.js';
export { createObjectStore, getJson, putJson, type ObjectStore, type ObjectInfo, type ObjectTags } from './store/index.js';
export { Duck, sqlIdent, sqlString, sqlList, type Row } from './duckdb.js';
export { listDomains, selectDomains, type DomainInfo } from './domains.js';
export { Progress } from './progress.js';
export type { Logger } from './log.js';
