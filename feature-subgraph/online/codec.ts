import type { OnlineRecord, OnlineValues } from './types.js';

/**
 * One value per (view version, entity): a fixed-width, lexicographically ordered version prefix (event time then
 * created time, 13 digits each) followed by the feature values as a JSON array. Stores compare the prefix to refuse
 * older writes without decoding, and a read is a single GET of one small string.
 */
export const PREFIX_LENGTH = 26;

export function encodeRecord(r: OnlineValues): string {
  return `${pad(r.eventTs)}${pad(r.createdTs)}${'valuesJson' in r ? r.valuesJson : JSON.stringify(r.values)}`;
}

export function decodeRecord(s: string): OnlineRecord {
  return new StoredRecord(Number(s.slice(0, 13)), Number(s.slice(13, 26)), s.slice(PREFIX_LENGTH));
}

/** A record as read: its values are parsed when first asked for, so a reader that passes their text on never parses. */
class StoredRecord implements OnlineRecord {
  private parsed?: unknown[];

  constructor(
    readonly eventTs: number,
    readonly createdTs: number,
    readonly valuesJson: string,
  ) {}

  get values(): unknown[] {
    return (this.parsed ??= JSON.parse(this.valuesJson) as unknown[]);
  }
}

function pad(ms: number): string {
  if (!(Number.isInteger(ms) && ms >= 0 && ms < 1e13))
    throw new Error(`timestamp ${ms} is outside what the online store encodes`);
  return String(ms).padStart(13, '0');
}

/** The online key of an entity: its join key value, or the JSON array of them for composite keys. */
export function entityKey(values: readonly unknown[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values.map(String));
}

/**
 * The key as stores hold it: a lone surrogate (not UTF-8) becomes the replacement character, as encoding it would make
 * it anyway. Made explicit so that a Redis Cluster hashes the key it receives, cjson reads packed writes (it refuses a
 * lone surrogate's escape), and SQLite's JSON key list matches what was bound.
 */
export function storedKey(key: string): string {
  return /[\ud800-\udfff]/.test(key) ? Buffer.from(key).toString() : key;
}
