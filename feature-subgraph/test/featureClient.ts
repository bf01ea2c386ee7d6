import { MeshError, ErrorCode, type Platform, type Row } from '../../platform/index.js';
import {
  getHistoricalFeatures,
  writeTrainingSet,
  type TrainingSetRequest,
  type TrainingSetResult,
} from '../offline/historical.js';
import type { FeastResponse } from '../server/getOnlineFeatures.js';
import type { FeatureStatus } from '../server/onlineRead.js';

export interface OnlineRequest {
  features?: string[];
  featureService?: string;
  /** Join key → values, one per entity row (Feast's columnar form). */
  entities: Record<string, (string | number)[]>;
  fullFeatureNames?: boolean;
}

/** One entity row's answer: join keys and feature values, plus each feature's status and event time. */
export interface OnlineVector {
  values: Record<string, unknown>;
  statuses: Record<string, FeatureStatus>;
  eventTimestamps: Record<string, string>;
}

/**
 * What ML code uses: online vectors from a feature server's Feast endpoint (with a user token), and point-in-time
 * training sets computed locally against the platform's offline store.
 */
export class FeatureClient {
  constructor(private readonly options: { url: string; token: string; platform?: Platform }) {}

  /** Feast's response as is: grouped by feature. */
  async getOnlineFeatures(request: OnlineRequest): Promise<FeastResponse> {
    const res = await fetch(`${this.options.url.replace(/\/$/, '')}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token}` },
      body: JSON.stringify({
        features: request.features,
        feature_service: request.featureService,
        entities: request.entities,
        full_feature_names: request.fullFeatureNames,
      }),
    });
    const body = (await res.json()) as FeastResponse & { error?: { code: string; message: string } };
    if (!res.ok)
      throw new MeshError(
        (body.error?.code as ErrorCode | undefined) ?? ErrorCode.ONLINE_STORE_ERROR,
        body.error?.message ?? `feature server answered HTTP ${res.status}`,
      );
    return body;
  }

  /** The same answer row by row, for scoring. */
  async getOnlineVectors(request: OnlineRequest): Promise<OnlineVector[]> {
    const { metadata, results } = await this.getOnlineFeatures(request);
    const n = results[0]?.values.length ?? 0;
    return Array.from({ length: n }, (_, i) => {
      const v: OnlineVector = { values: {}, statuses: {}, eventTimestamps: {} };
      metadata.feature_names.forEach((name, f) => {
        v.values[name] = results[f]!.values[i];
        v.statuses[name] = results[f]!.statuses[i] as FeatureStatus;
        v.eventTimestamps[name] = results[f]!.event_timestamps[i]!;
      });
      return v;
    });
  }

  async trainingSet(request: TrainingSetRequest & { out: string }): Promise<TrainingSetResult> {
    return writeTrainingSet(this.platform(), request);
  }

  async historicalFeatures(request: TrainingSetRequest): Promise<Row[]> {
    return getHistoricalFeatures(this.platform(), request);
  }

  private platform(): Platform {
    if (!this.options.platform)
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        'training sets are computed against the offline store: create the client with a platform (createPlatform())',
      );
    return this.options.platform;
  }
}
