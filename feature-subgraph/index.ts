// The feature store's public module: definitions for domain folders, the library calls behind `mesh features`, the
// feature server, the repurchase model.
export { defineFeatures, loadDefinitions, type LoadedView } from './definitions.js';
export { applyFeatures, computeFeatures, listFeatureViews, planFeatures } from './featureStore.js';
export { materialize, type MaterializeReport } from './materialize.js';
export { pushStreamFeatures, pushViews, type PushReport } from './push.js';
export { loadModel, type StoredModel } from './models/model.js';
export { trainRepurchase } from './models/repurchase.js';
export { writeTrainingSet } from './offline/historical.js';
export { offlineManifest, type OfflineManifest } from './offline/table.js';
export { createOnlineStore } from './online/index.js';
export { type OnlineStore } from './online/types.js';
export {
  currentViews,
  loadRegistry,
  tableId,
  viewsReading,
  type PlannedChange,
  type Registry,
  type ViewVersion,
} from './registry.js';
export { featureSubgraphSdl } from './server/subgraphSchema.js';
export { FEATURES_SUBGRAPH, startFeatureServer, type RunningFeatureServer } from './server/featureServer.js';
export { type FeastResponse } from './server/getOnlineFeatures.js';
