import type { OnlineStoreConfig } from '../../platform/index.js';
import { createOnlineStore, type OnlineStore } from '../online/index.js';
import { getOnlineFeatures, type OnlineReadPlan } from './getOnlineFeatures.js';
import { feastJson } from './feastJson.js';
import { observedStore, statusCounts, type ReadObservation } from './servingMetrics.js';

export interface LargeRead {
  online: OnlineStoreConfig;
  plan: OnlineReadPlan;
  now: number;
}

/** A large read's answer as Feast's JSON, with what the serving metrics count of it. */
export interface LargeReadAnswer {
  json: string;
  statuses: Record<string, number>;
  reads: ReadObservation[];
  /** The online store did not answer: every status is INVALID. */
  error?: { code: string; message: string };
}

/** This thread's own connection to the online store, opened by its first read. */
let store: OnlineStore | undefined;

/**
 * A large Feast read, in a worker thread (feature-subgraph/server/largeReads.ts): the store read and the JSON text of
 * tens of thousands of values never hold up the lookups the server's own thread answers meanwhile.
 */
export default async function largeRead(task: LargeRead): Promise<LargeReadAnswer> {
  store ??= createOnlineStore(task.online);
  const reads: ReadObservation[] = [];
  const answer = await getOnlineFeatures(
    task.plan,
    observedStore(store, (r) => reads.push(r)),
    task.now,
  );
  return {
    json: feastJson(answer),
    statuses: statusCounts(answer.features.map((f) => f.statuses)),
    reads,
    ...(answer.error ? { error: { code: answer.error.code, message: answer.error.message } } : {}),
  };
}
