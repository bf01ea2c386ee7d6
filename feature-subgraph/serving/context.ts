import type DataLoader from 'dataloader';
import type { Identity } from '../../platform/index.js';
import type { Registry } from '../registry.js';
import type { OnlineRecord, OnlineStore } from '../online/types.js';
import type { ServingMetrics } from './metrics.js';
import type { StoredModel } from '../models/model.js';

/** The request's batching reader of online records (one store read per view and tick). */
export type OnlineLoader = DataLoader<{ table: string; key: string }, OnlineRecord | undefined, string>;

/** What the features subgraph's resolvers get per request. */
export interface FeatureContext {
  identity: Identity;
  models: { get(name: string): Promise<StoredModel> };
  registry: Registry;
  online: OnlineStore;
  loader: OnlineLoader;
  metrics: ServingMetrics;
  /** The data clock: value ages and TTLs are judged against it. */
  now(): number;
}
