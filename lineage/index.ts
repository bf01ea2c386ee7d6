// Lineage's public module: the lineage behind the runtime's port (createLineage, for whoever composes the platform),
// operation lineage, the catalog, DataHub and the metadata subgraph.
export { dataProducts, type DataProduct } from './catalog.js';
export { dataHubProposals, emitToDataHub, type Proposal } from './datahub/index.js';
export { loadFieldLineage, type FieldSource } from './fieldLineage.js';
export type { ColumnReader } from './graph.js';
export { meshColumnLineage, type MeshColumnLineage } from './columnLineage.js';
export { createLineage, type Lineage, type MeshPlatform } from './platformLineage.js';
export { OperationLineage, responseFields } from './operationLineage.js';
export { METADATA_SUBGRAPH, startMetadataServer, type RunningMetadataServer } from './metadataServer.js';
