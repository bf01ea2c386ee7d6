import DataLoader from 'dataloader';
import { sqlString } from '../../platform/index.js';
import { badUserInput, type SqlRunner } from './types.js';

type Row = Record<string, unknown>;

/** `'a', 'b', …` for an IN list of keys. */
export function inList(keys: readonly string[]): string {
  return keys.map(sqlString).join(', ');
}

/** Ids are short printable text: anything else is the caller's mistake, answered per key, never sent to SQL. */
export const MAX_ID_LENGTH = 256;
function badKey(key: unknown): Error | undefined {
  if (typeof key !== 'string' || key.length === 0) return badUserInput('an id must be a non-empty string');
  if (key.length > MAX_ID_LENGTH) return badUserInput(`an id is at most ${MAX_ID_LENGTH} characters (got ${key.length})`);
  if (/[\u0000-\u001f\u007f]/.test(key)) return badUserInput('an id must not contain control characters');
  return undefined;
}

/** Answers a batch for its valid keys only; the others get their error, so one bad id does not fail its neighbours. */
async function validOnly<K, V>(keys: readonly K[], keyOf: (k: K) => string, answer: (valid: K[]) => Promise<V[]>): Promise<(V | Error)[]> {
  const errors = keys.map((k) => badKey(keyOf(k)));
  const valid = keys.filter((_, i) => !errors[i]);
  const answers = valid.length ? await answer(valid) : [];
  let j = 0;
  return keys.map((_, i) => errors[i] ?? answers[j++]!);
}

/** One row per key, fetched for a whole batch of keys in one query. */
export function rowByKey<R extends Row>(db: SqlRunner, query: (keys: string) => string, keyOf: (row: R) => string): DataLoader<string, R | null> {
  return new DataLoader((all) =>
    validOnly(all, String, async (keys) => {
      db.batch?.(keys.length);
      const rows = await db.all<R>(query(inList(keys)));
      const byKey = new Map(rows.map((r) => [keyOf(r), r]));
      return keys.map((k) => byKey.get(k) ?? null);
    }),
  );
}

/** All rows per key (a one-to-many list), fetched for a whole batch of keys in one query. */
export function rowsByKey<R extends Row>(db: SqlRunner, query: (keys: string) => string, keyOf: (row: R) => string): DataLoader<string, R[]> {
  return new DataLoader((all) =>
    validOnly(all, String, async (keys) => {
      db.batch?.(keys.length);
      const rows = await db.all<R>(query(inList(keys)));
      const byKey = new Map<string, R[]>();
      for (const r of rows) {
        const k = keyOf(r);
        let list = byKey.get(k);
        if (!list) byKey.set(k, (list = []));
        list.push(r);
      }
      return keys.map((k) => byKey.get(k) ?? []);
    }),
  );
}

/**
 * A page of a one-to-many list per key, for list fields with arguments (`orders(first, after)`): keys with the same
 * arguments share one query, whatever the number of parents.
 */
export function pagesByKey<A, R extends Row>(
  db: SqlRunner,
  query: (keys: string, args: A) => string,
  keyOf: (row: R) => string,
): DataLoader<{ key: string; args: A }, R[], string> {
  return new DataLoader(
    async (requests) => {
      const groups = new Map<string, { args: A; keys: string[] }>();
      for (const r of requests) {
        const g = JSON.stringify(r.args);
        let group = groups.get(g);
        if (!group) groups.set(g, (group = { args: r.args, keys: [] }));
        group.keys.push(r.key);
      }
      const results = new Map<string, R[]>();
      for (const [g, { args, keys }] of groups) {
        db.batch?.(keys.length);
        for (const row of await db.all<R>(query(inList(keys), args))) {
          const k = `${g}\0${keyOf(row)}`;
          let list = results.get(k);
          if (!list) results.set(k, (list = []));
          list.push(row);
        }
      }
      return requests.map((r) => results.get(`${JSON.stringify(r.args)}\0${r.key}`) ?? []);
    },
    { cacheKeyFn: (r) => `${JSON.stringify(r.args)}\0${r.key}` },
  );
}
