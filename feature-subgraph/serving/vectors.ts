import DataLoader from 'dataloader';
import { MeshError, ErrorCode, isMeshError, type ObjectStore } from '../../platform/index.js';
import {
  loadRegistry,
  resolveFeatures,
  tableId,
  type Registry,
  type ResolvedFeatures,
  type ViewRequest,
} from '../registry.js';
import { entityKey } from '../online/codec.js';
import type { OnlineRecord, OnlineStore } from '../online/types.js';
import type { FeatureType } from '../definitions.js';
import { FEATURE_REGISTRY_KEY } from '../../products/index.js';

/**
 * Feast's statuses; OUTSIDE_MAX_AGE withholds the value (the view's TTL is honoured online too), and INVALID (Feast's
 * FieldStatus.INVALID) marks a value that could not be read because the online store did not answer.
 */
export type FeatureStatus = 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE' | 'INVALID';

/**
 * One feature's answer for one entity, shaped as GraphQL's `Feature` reads it: plain fields and a getter, so a compiled
 * query reads them without calling a resolver (and building its info) per value. A withheld value is the error that
 * says why, which GraphQL reports at its position.
 */
export class FeatureCell {
  constructor(
    /** The feature's output name (feature, or view__feature with full names). */
    readonly name: string,
    readonly value: unknown,
    readonly status: FeatureStatus,
    /** Event time of the value in ms, null when none was found. */
    readonly eventTs: number | null,
  ) {}

  /** Made only when asked for. */
  get eventTimestamp(): Date | null {
    return this.eventTs === null ? null : new Date(this.eventTs);
  }
}

/** The registry as servers see it: re-read when its object changes, checked at most once per interval. */
export class RegistryCache {
  private registry?: Registry;
  private etag?: string;
  private checkedAt = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly intervalMs = 1000,
  ) {}

  async get(): Promise<Registry> {
    if (this.registry && Date.now() - this.checkedAt < this.intervalMs) return this.registry;
    const head = await this.store.head(FEATURE_REGISTRY_KEY);
    this.checkedAt = Date.now();
    if (!this.registry || head?.etag !== this.etag) {
      this.registry = await loadRegistry(this.store);
      this.etag = head?.etag;
    }
    return this.registry;
  }
}

/** The answer for the request's `i`th feature of a view from an entity's record (undefined: the store has none). */
export function cellOf(request: ViewRequest, i: number, record: OnlineRecord | undefined, now: number): FeatureCell {
  const name = request.outputNames[i]!;
  if (!record) return new FeatureCell(name, null, 'NOT_FOUND', null);
  const ttl = request.view.ttlSeconds * 1000;
  if (ttl > 0 && now - record.eventTs > ttl) return new FeatureCell(name, null, 'OUTSIDE_MAX_AGE', record.eventTs);
  const value = record.values[request.view.features.indexOf(request.features[i]!)] ?? null;
  return new FeatureCell(name, value, value === null ? 'NULL_VALUE' : 'PRESENT', record.eventTs);
}

/** The online key of a view for one entity row; a missing join key is the caller's error and names the key. */
export function keyFor(request: ViewRequest, row: Record<string, unknown>): string {
  return entityKey(
    request.view.joinKeys.map((k) => {
      const v = row[k];
      if (v === undefined || v === null || v === '')
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `entity row lacks join key "${k}" needed by feature view ${tableId(request.view)}`,
        );
      return v;
    }),
  );
}

/** One requested feature's answers, one entry per entity row (Feast's grouping). */
export interface FeatureColumn {
  /** Empty when the column was read as text (`json`). */
  values: unknown[];
  statuses: FeatureStatus[];
  /** Event time in ms, null when nothing was found. */
  eventTs: (number | null)[];
  /** Read as text: each value as the JSON it is stored as, `null` when there is none. */
  json?: string[];
}

/**
 * Columns in `resolved.names` order for entity rows, from one read of the online store. Built column-wise without
 * per-value objects: at 1,000 entities x 50 features that is most of the serving cost. With `text`, values come as
 * their JSON text instead: a view of numbers and booleans is cut from the stored array without parsing it, which is
 * what a JSON answer (Feast REST) needs and half its cost.
 */
export async function readColumns(
  store: OnlineStore,
  resolved: ResolvedFeatures,
  rows: Record<string, unknown>[],
  now: number,
  options: { text?: boolean } = {},
): Promise<FeatureColumn[]> {
  const records = await store.read(
    resolved.views.map((v) => ({ table: tableId(v.view), keys: rows.map((r) => keyFor(v, r)) })),
  );
  const byView = resolved.views.map((v, j) => {
    const ttl = v.view.ttlSeconds * 1000;
    const positions = v.features.map((f) => v.view.features.indexOf(f));
    const cuttable = v.view.features.every((f) => f.dtype !== 'String');
    // One record holds every feature of its view: the view's columns share one event-time array (formatted once).
    const eventTs = records[j]!.map((record) => (record ? record.eventTs : null));
    const columns: FeatureColumn[] = positions.map(() =>
      options.text ? { values: [], statuses: [], eventTs, json: [] } : { values: [], statuses: [], eventTs },
    );
    // Plain loops: this runs once per value served (5,000 times for 100 entities x 50 features).
    for (const record of records[j]!) {
      const stale = record !== undefined && ttl > 0 && now - record.eventTs > ttl;
      if (!record || stale) {
        const status: FeatureStatus = record ? 'OUTSIDE_MAX_AGE' : 'NOT_FOUND';
        for (const c of columns) {
          if (options.text) c.json!.push('null');
          else c.values.push(null);
          c.statuses.push(status);
        }
        continue;
      }
      if (options.text) {
        const texts = textsOf(record, cuttable, v.view.features.length);
        for (let f = 0; f < positions.length; f++) {
          const text = texts[positions[f]!] ?? 'null';
          columns[f]!.json!.push(text);
          columns[f]!.statuses.push(text === 'null' ? 'NULL_VALUE' : 'PRESENT');
        }
      } else {
        const values = record.values;
        for (let f = 0; f < positions.length; f++) {
          const value = values[positions[f]!] ?? null;
          columns[f]!.values.push(value);
          columns[f]!.statuses.push(value === null ? 'NULL_VALUE' : 'PRESENT');
        }
      }
    }
    return columns;
  });
  return resolved.order.map((o) => byView[o.view]![o.feature]!);
}

/**
 * A record's values as JSON texts: cut from its stored array when no value can hold a comma, else written one by one.
 */
function textsOf(record: OnlineRecord, cuttable: boolean, features: number): string[] {
  if (cuttable && record.valuesJson !== undefined) {
    const cut = record.valuesJson.slice(1, -1).split(',');
    if (cut.length === features) return cut;
  }
  return record.values.map((x) => JSON.stringify(x ?? null));
}

/** Columns for an online store that did not answer: every value withheld as INVALID. */
function invalidColumns(resolved: ResolvedFeatures, rows: number, text: boolean): FeatureColumn[] {
  return resolved.names.map(() => ({
    values: text ? [] : Array(rows).fill(null),
    statuses: Array(rows).fill('INVALID'),
    eventTs: Array(rows).fill(null),
    ...(text ? { json: Array(rows).fill('null') } : {}),
  }));
}

/**
 * `readColumns`, degraded instead of failed when the online store does not answer: an outage is neither the client's
 * fault nor a reason to fail its model, so values are withheld as INVALID and the error says why.
 */
export async function readColumnsOrInvalid(
  store: OnlineStore,
  resolved: ResolvedFeatures,
  rows: Record<string, unknown>[],
  now: number,
  options: { text?: boolean } = {},
): Promise<{ columns: FeatureColumn[]; error?: MeshError }> {
  try {
    return { columns: await readColumns(store, resolved, rows, now, options) };
  } catch (err) {
    if (!isMeshError(err) || err.code !== ErrorCode.ONLINE_STORE_ERROR) throw err;
    return { columns: invalidColumns(resolved, rows.length, options.text === true), error: err };
  }
}

/**
 * Per request: every online lookup made while resolving one GraphQL operation (entity fields of many customers, several
 * views) is collected by DataLoader and answered by one read of the store.
 */
export function onlineLoader(
  store: OnlineStore,
): DataLoader<{ table: string; key: string }, OnlineRecord | undefined, string> {
  return new DataLoader(
    async (lookups) => {
      const tables = [...new Set(lookups.map((l) => l.table))];
      const requests = tables.map((table) => ({
        table,
        keys: [...new Set(lookups.filter((l) => l.table === table).map((l) => l.key))],
      }));
      const results = await store.read(requests);
      const byId = new Map<string, OnlineRecord | undefined>();
      requests.forEach((r, i) => r.keys.forEach((k, j) => byId.set(`${r.table}\u0000${k}`, results[i]![j])));
      return lookups.map((l) => byId.get(`${l.table}\u0000${l.key}`));
    },
    { cacheKeyFn: (l) => `${l.table}\u0000${l.key}` },
  );
}

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
/** Most entity rows and features one online request takes; more belong in a training set. */
export const MAX_ENTITY_ROWS = 10_000;
export const MAX_FEATURES = 500;

/** Feast's answer before it is written out: the join key columns as given, each feature column as JSON texts. */
export interface FeastAnswer {
  featureNames: string[];
  keys: unknown[][];
  features: { json: string[]; statuses: FeatureStatus[]; eventTimestamps: string[]; dtype: FeatureType }[];
  /** The online store did not answer: every status is INVALID. */
  error?: MeshError;
}

/**
 * Feast's `POST /get-online-features`: columnar entities in, results grouped by feature (join keys first) out, with the
 * declared type of each feature column. Entity columns that are not join keys of the requested views are dropped, as
 * Feast does.
 */
export async function getOnlineFeatures(
  registry: Registry,
  store: OnlineStore,
  body: unknown,
  now: number,
): Promise<FeastAnswer> {
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
  const keys = given.filter(([k]) => resolved.joinKeys.includes(k));
  const rows = Array.from({ length: n }, (_, i) => Object.fromEntries(keys.map(([k, vs]) => [k, vs[i]])));
  const { columns, error } = await readColumnsOrInvalid(store, resolved, rows, now, { text: true });
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
  for (const [k, v] of entities) if (!Array.isArray(v)) throw bad(`entities.${k} must be an array`);
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
