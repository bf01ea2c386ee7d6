import { MeshError, ErrorCode, isMeshError } from '../../platform/index.js';
import { tableId, type ResolvedFeatures, type ViewRequest } from '../registry.js';
import { entityKey } from '../online/codec.js';
import type { OnlineRecord, OnlineStore } from '../online/types.js';

/** Most entity rows and features one online request takes; more belong in a training set. */
export const MAX_ENTITY_ROWS = 10_000;
export const MAX_FEATURES = 500;
/**
 * Most values (entity rows x features) one online request answers: 10,000 rows x 18 features came to 7 MB of JSON
 * and half a second of the server's time, during which every other caller waited.
 */
export const MAX_VALUES = 50_000;

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

/** The answer for the request's `i`th feature of a view from an entity's record (undefined: the store has none). */
export function cellOf(request: ViewRequest, i: number, record: OnlineRecord | undefined, now: number): FeatureCell {
  const name = request.outputNames[i]!;
  if (!record) return new FeatureCell(name, null, 'NOT_FOUND', null);
  const ttl = request.view.ttlSeconds * 1000;
  if (ttl > 0 && now - record.eventTs > ttl) return new FeatureCell(name, null, 'OUTSIDE_MAX_AGE', record.eventTs);
  const value = record.values[request.view.features.indexOf(request.features[i]!)] ?? null;
  return new FeatureCell(name, value, value === null ? 'NULL_VALUE' : 'PRESENT', record.eventTs);
}

/**
 * The online key of a view for one entity row; a missing join key is the caller's error and names the key. An empty
 * one is a key that names no entity (NOT_FOUND, as in Feast), not a missing one.
 */
export function keyFor(request: ViewRequest, row: Record<string, unknown>): string {
  return entityKey(
    request.view.joinKeys.map((k) => {
      const v = row[k];
      if (v === undefined || v === null)
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
