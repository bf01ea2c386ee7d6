import { getJson, putJson, MeshError, ErrorCode, type ObjectStore } from '../../platform/index.js';
import { currentModelKey, modelKey } from '../../products/index.js';

export interface ModelMetrics {
  auc: number;
  logLoss: number;
  /** Expected calibration error over ten bins. */
  ece: number;
  calibration: { from: number; to: number; count: number; predicted: number; observed: number }[];
  positiveRate: number;
  rows: number;
}

/**
 * A logistic model over online features: what scoring needs (references, imputation, scaling, weights) and its record.
 */
export interface StoredModel {
  name: string;
  version: number;
  createdAt: string;
  /** The feature service version it was trained on (`service@vN`). */
  service: string;
  label: string;
  /** In weight order after the intercept: pinned reference, training mean (imputes nulls) and standard deviation. */
  features: { ref: string; name: string; mean: number; std: number }[];
  /** Intercept first. */
  weights: number[];
  metrics: { train: ModelMetrics; test: ModelMetrics; baseline: { service: string; test: ModelMetrics } };
  split: { trainUntil: string; testFrom: string; testUntil: string; gapDays: number };
}

export async function saveModel(store: ObjectStore, model: Omit<StoredModel, 'version'>): Promise<StoredModel> {
  const current = await getJson<{ version: number }>(store, currentModelKey(model.name));
  const stored = { ...model, version: (current?.version ?? 0) + 1 };
  const tags = { layer: 'models', 'data-product': `model:${model.name}` };
  await putJson(store, modelKey(model.name, stored.version), stored, tags);
  await putJson(store, currentModelKey(model.name), { version: stored.version }, tags);
  return stored;
}

export async function loadModel(store: ObjectStore, name: string, version?: number): Promise<StoredModel> {
  const v = version ?? (await getJson<{ version: number }>(store, currentModelKey(name)))?.version;
  const model = v === undefined ? undefined : await getJson<StoredModel>(store, modelKey(name, v));
  if (!model)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `no model "${name}"${version ? ` version ${version}` : ''}: run npx mesh train`,
    );
  return model;
}

/** The model's probability for one feature vector (in `model.features` order); nulls take the training mean. */
export function predict(
  model: Pick<StoredModel, 'features' | 'weights'>,
  values: (number | null | undefined)[],
): number {
  let z = model.weights[0]!;
  model.features.forEach((f, i) => {
    const v = values[i];
    const x = v === null || v === undefined || Number.isNaN(v) ? f.mean : v;
    z += model.weights[i + 1]! * ((x - f.mean) / f.std);
  });
  return 1 / (1 + Math.exp(-z));
}
