import type { ObjectStore } from '../../platform/index.js';
import { loadModel, predict, type StoredModel } from '../models/model.js';
import { resolveFeatures, tableId, type Registry } from '../registry.js';
import { cellOf, keyFor } from './vectors.js';
import type { OnlineLoader } from './context.js';

/** Models as servers see them: re-read at most every few seconds, so a newly trained version is served without restart. */
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

/** Scores one entity with the online values of the model's pinned features, through the request's DataLoader. */
export async function scoreEntity(ctx: { loader: OnlineLoader; now(): number }, registry: Registry, model: StoredModel, row: Record<string, unknown>): Promise<ModelScore> {
  const resolved = resolveFeatures(registry, { features: model.features.map((f) => f.ref), fullFeatureNames: true });
  const values = new Map<string, unknown>();
  let missing = 0;
  await Promise.all(
    resolved.views.map(async (v) => {
      const record = await ctx.loader.load({ table: tableId(v.view), key: keyFor(v, row) });
      v.features.forEach((f, i) => {
        const c = cellOf(v, i, record, ctx.now());
        if (c.status !== 'PRESENT') missing++;
        values.set(`${tableId(v.view)}:${f.name}`, c.status === 'PRESENT' ? c.value : null);
      });
    }),
  );
  const score = predict(model, model.features.map((f) => values.get(f.ref) as number | null));
  return { model: model.name, version: model.version, score, missing };
}
