import { MeshError, ErrorCode } from '../../platform/index.js';
import { resolveFeatures, type Registry } from '../registry.js';
import type { OnlineStore } from '../online/types.js';
import type { FeatureType } from '../definitions.js';
import { MAX_ENTITY_ROWS, MAX_FEATURES, MAX_VALUES, readColumnsOrInvalid, type FeatureStatus } from './onlineRead.js';

export interface FeastRequest {
  features?: string[];
  feature_service?: string;
  entities: Record<string, unknown[]>;
  full_feature_names?: boolean;
}

/** Feast's response, as its clients read it. */
export interface FeastResponse {
  metadata: { feature_names: string[] };
  results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
  /** Beyond Feast's shape, only on a degraded answer: why statuses are INVALID (code, message, request id). */
  errors?: { code: string; message: string }[];
}

export const EPOCH = '1970-01-01T00:00:00Z';

/** Feast's answer before it is written out: the join key columns as given, each feature column as JSON texts. */
export interface FeastAnswer {
  featureNames: string[];
  keys: unknown[][];
  features: { json: string[]; statuses: FeatureStatus[]; eventTimestamps: string[]; dtype: FeatureType }[];
  /** The online store did not answer: every status is INVALID. */
  error?: MeshError;
}

/** A Feast read checked and resolved, before the store is asked: what it reads, and how many values it asks for. */
export interface OnlineReadPlan {
  resolved: ReturnType<typeof resolveFeatures>;
  /** The join key columns given, in the order given. */
  keys: [string, unknown[]][];
  rows: Record<string, unknown>[];
  /** Entity rows x features: what the read costs. */
  values: number;
}

/**
 * The request of Feast's `POST /get-online-features`, checked against the caps and resolved against the registry.
 * Entity columns that are not join keys of the requested views are dropped, as Feast does.
 */
export function planOnlineRead(registry: Registry, body: unknown): OnlineReadPlan {
  const request = parseFeastRequest(body);
  const resolved = resolveFeatures(registry, {
    features: request.features,
    service: request.feature_service,
    fullFeatureNames: request.full_feature_names,
  });
  const given = Object.entries(request.entities);
  const n = given[0]![1].length;
  if (n > MAX_ENTITY_ROWS)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `get-online-features: at most ${MAX_ENTITY_ROWS} entity rows per request (got ${n}); use a training set for more`,
    );
  if (resolved.names.length > MAX_FEATURES)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `get-online-features: at most ${MAX_FEATURES} features per request (got ${resolved.names.length})`,
    );
  if (n * resolved.names.length > MAX_VALUES)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `get-online-features: at most ${MAX_VALUES.toLocaleString('en-US')} values per request (entity rows x ` +
        `features); ${n} x ${resolved.names.length} = ${(n * resolved.names.length).toLocaleString('en-US')}: ` +
        'split the entities, or use a training set',
      { maxValues: MAX_VALUES },
    );
  const keys = given.filter(([k]) => resolved.joinKeys.includes(k));
  const rows = Array.from({ length: n }, (_, i) => Object.fromEntries(keys.map(([k, vs]) => [k, vs[i]])));
  return { resolved, keys, rows, values: n * resolved.names.length };
}

/**
 * Feast's `POST /get-online-features` of a planned read: results grouped by feature (join keys first), with the
 * declared type of each feature column.
 */
export async function getOnlineFeatures(plan: OnlineReadPlan, store: OnlineStore, now: number): Promise<FeastAnswer> {
  const { resolved, keys, rows } = plan;
  const read = await readColumnsOrInvalid(store, resolved, rows, now, { text: true });
  const { columns, error } = read;
  // Values of a view share few event times (daily snapshots): format each once, and each view's array once.
  const iso = new Map<number | null, string>([[null, EPOCH]]);
  const format = (ts: number | null) => {
    let s = iso.get(ts);
    if (s === undefined) iso.set(ts, (s = new Date(ts!).toISOString().replace('.000Z', 'Z')));
    return s;
  };
  const formatted = new Map<(number | null)[], string[]>();
  const timestamps = (eventTs: (number | null)[]) => {
    let out = formatted.get(eventTs);
    if (!out) formatted.set(eventTs, (out = eventTs.map(format)));
    return out;
  };
  const dtypes = resolved.order.map((o) => resolved.views[o.view]!.features[o.feature]!.dtype);
  return {
    featureNames: [...keys.map(([k]) => k), ...resolved.names],
    keys: keys.map(([, values]) => values),
    features: columns.map((c, i) => ({
      json: c.json!,
      statuses: c.statuses,
      eventTimestamps: timestamps(c.eventTs),
      dtype: dtypes[i]!,
    })),
    ...(error ? { error } : {}),
  };
}

function parseFeastRequest(body: unknown): FeastRequest {
  const bad = (m: string) => new MeshError(ErrorCode.BAD_USER_INPUT, `get-online-features: ${m}`);
  if (typeof body !== 'object' || body === null) throw bad('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.features !== undefined && !(Array.isArray(b.features) && b.features.every((f) => typeof f === 'string')))
    throw bad('"features" must be an array of "view:feature" strings');
  if (b.feature_service !== undefined && typeof b.feature_service !== 'string')
    throw bad('"feature_service" must be a string');
  if (typeof b.entities !== 'object' || b.entities === null || Array.isArray(b.entities))
    throw bad('"entities" must map each join key to an array of values');
  const entities = Object.entries(b.entities as Record<string, unknown>);
  if (entities.length === 0) throw bad('"entities" is empty');
  for (const [k, v] of entities) {
    if (!Array.isArray(v)) throw bad(`entities.${k} must be an array`);
    // Feast's keys are scalars: an object or a list is no key (an operator like {"$ne": 1} least of all).
    const i = v.findIndex((x) => !(typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x))));
    if (i >= 0)
      throw bad(`entities.${k}[${i}] must be a string or a number (got ${JSON.stringify(v[i])?.slice(0, 40)})`);
  }
  const lengths = new Set(entities.map(([, v]) => (v as unknown[]).length));
  if (lengths.size > 1)
    throw bad(
      `every entities array must have the same length ` +
        `(got ${entities.map(([k, v]) => `${k}: ${(v as unknown[]).length}`).join(', ')})`,
    );
  return {
    features: b.features as string[] | undefined,
    feature_service: b.feature_service as string | undefined,
    entities: b.entities as Record<string, unknown[]>,
    full_feature_names: b.full_feature_names === true,
  };
}
