import type { ObjectStore } from '../../platform/index.js';
import { loadModel, predict, type StoredModel } from '../models/model.js';
import { resolveFeatures, tableId, type Registry, type ResolvedFeatures } from '../registry.js';
import { cellOf, keyFor } from './onlineRead.js';
import type { OnlineLoader } from './onlineLoader.js';

/**
 * Models as servers see them: re-read at most every few seconds, so a newly trained version is served without restart.
 */
export class ModelCache {
  private readonly models = new Map<string, { model: StoredModel; at: number }>();
  constructor(
    private readonly store: ObjectStore,
    private readonly ttlMs = 5000,
  ) {}

  async get(name: string): Promise<StoredModel> {
    const hit = this.models.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.model;
    const model = await loadModel(this.store, name);
    this.models.set(name, { model, at: Date.now() });
    return model;
  }
}

export interface ModelScore {
  model: string;
  version: number;
  score: number;
  /** Features without a present online value (scored with their training mean). */
  missing: number;
}

// A model's pinned references resolved once per model and registry object, not once per entity scored.
const resolvedFor = new WeakMap<StoredModel, { registry: Registry; resolved: ResolvedFeatures }>();

function modelFeatures(registry: Registry, model: StoredModel): ResolvedFeatures {
  const hit = resolvedFor.get(model);
  if (hit?.registry === registry) return hit.resolved;
  const resolved = resolveFeatures(registry, { features: model.features.map((f) => f.ref), fullFeatureNames: true });
  resolvedFor.set(model, { registry, resolved });
  return resolved;
}

/** Scores one entity with the online values of the model's pinned features, through the request's DataLoader. */
export async function scoreEntity(
  ctx: { loader: OnlineLoader; now(): number },
  registry: Registry,
  model: StoredModel,
  row: Record<string, unknown>,
): Promise<ModelScore> {
  const resolved = modelFeatures(registry, model);
  const records = await Promise.all(
    resolved.views.map((v) => ctx.loader.load({ table: tableId(v.view), key: keyFor(v, row) })),
  );
  const now = ctx.now();
  let missing = 0;
  // In the model's order: the references were resolved in it.
  const values = resolved.order.map((o) => {
    const c = cellOf(resolved.views[o.view]!, o.feature, records[o.view], now);
    if (c.status === 'PRESENT') return c.value as number;
    missing++;
    return null;
  });
  return { model: model.name, version: model.version, score: predict(model, values), missing };
}
