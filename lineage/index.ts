// Lineage's public module: the platform as the mesh runs it (lineage behind the runtime's port), operation lineage,
// the catalog, DataHub and the metadata subgraph.
export { dataProducts, type DataProduct } from './catalog.js';
export { dataHubProposals, emitToDataHub } from './datahub.js';
export { loadFieldLineage, type FieldSource } from './fields.js';
export { createMeshPlatform, type MeshPlatform } from './meshPlatform.js';
export { OperationLineage, responseFields } from './operations.js';
export { METADATA_SUBGRAPH, startMetadataServer, type RunningMetadataServer } from './server.js';
