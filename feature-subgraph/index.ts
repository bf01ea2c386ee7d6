// The feature store's public surface: definitions for domain folders, the library calls behind `mesh features`, the server.
export { defineFeatures, loadDefinitions, type DomainFeatures, type FeatureViewDefinition, type EntityDefinition, type FeatureServiceDefinition } from './definitions.js';
export { loadRegistry, resolveFeatures, parseRef, tableId, type Registry, type ViewVersion, type ServiceVersion, type PlannedChange } from './registry.js';
export { planFeatures, applyFeatures, computeFeatures, listFeatureViews, type ViewListing } from './featureStore.js';
export { materialize, type MaterializeOptions, type MaterializeReport } from './materialize.js';
export { writeTrainingSet, getHistoricalFeatures, type TrainingSetRequest } from './offline/historical.js';
export { createOnlineStore, RedisOnlineStore, SqliteOnlineStore, type OnlineStore } from './online/index.js';
export { startFeatureServer, FEATURES_SUBGRAPH, type RunningFeatureServer } from './serving/server.js';
export { getOnlineFeatures, type FeastRequest, type FeastResponse, type FeatureStatus } from './serving/vectors.js';
export { FeatureClient } from './client.js';
