import type { FieldNode } from 'graphql';
import type { Identity } from '../../platform/index.js';
import type { Registry, ResolvedFeatures } from '../registry.js';
import type { OnlineStore } from '../online/types.js';
import type { OnlineLoader } from './onlineLoader.js';
import type { ServingMetrics } from './servingMetrics.js';
import type { StoredModel } from '../models/model.js';

/** What the features subgraph's resolvers get per request. */
export interface FeatureContext {
  identity: Identity;
  models: { get(name: string): Promise<StoredModel> };
  registry: Registry;
  online: OnlineStore;
  loader: OnlineLoader;
  /**
   * Feature references resolved in this request, by the field that asked (its arguments are the same for every entity).
   */
  resolved: Map<FieldNode, ResolvedFeatures>;
  metrics: ServingMetrics;
  /** The data clock: value ages and TTLs are judged against it. */
  now(): number;
}
