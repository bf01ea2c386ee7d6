import DataLoader from 'dataloader';
import { sqlString } from '../../platform/index.js';
import { badUserInput, type SqlRunner } from './types.js';
import { groupByKey, lookupSql, type LookupSpec } from './servingCopy.js';
import { encodeCursor, invalidCursor } from './pagination.js';

type Row = Record<string, unknown>;

/** `'a', 'b', …` for an IN list of keys. */
export function inList(keys: readonly string[]): string {
  return keys.map(sqlString).join(', ');
}

/** Ids are short printable text: anything else is the caller's mistake, answered per key, never sent to SQL. */
export const MAX_ID_LENGTH = 256;
function badKey(key: unknown): Error | undefined {
  if (typeof key !== 'string' || key.length === 0) return badUserInput('an id must be a non-empty string');
  if (key.length > MAX_ID_LENGTH)
    return badUserInput(`an id is at most ${MAX_ID_LENGTH} characters (got ${key.length})`);
  if (/[\u0000-\u001f\u007f]/.test(key)) return badUserInput('an id must not contain control characters');
  return undefined;
}

/** Answers a batch for its valid keys only; the others get their error, so one bad id does not fail its neighbours. */
async function validOnly<K, V>(
  keys: readonly K[],
  keyOf: (k: K) => string,
  answer: (valid: K[]) => Promise<(V | Error)[]>,
): Promise<(V | Error)[]> {
  const errors = keys.map((k) => badKey(keyOf(k)));
  const valid = keys.filter((_, i) => !errors[i]);
  const answers = valid.length ? await answer(valid) : [];
  let j = 0;
  return keys.map((_, i) => errors[i] ?? answers[j++]!);
}

/** One row per key, fetched for a whole batch of keys in one query. */
export function rowByKey<R extends Row>(
  db: SqlRunner,
  query: (keys: string) => string,
  keyOf: (row: R) => string,
): DataLoader<string, R | null> {
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
export function rowsByKey<R extends Row>(
  db: SqlRunner,
  query: (keys: string) => string,
  keyOf: (row: R) => string,
): DataLoader<string, R[]> {
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

/**
 * Rows per key for a declared lookup, for a batch of keys: from the serving copy when it holds the lookup (no query at
 * all), else one DuckDB query for the batch, or for the keys whose rows changed since the copy was built. Both give the
 * same rows in the same order.
 */
function lookupSource<R extends Row>(
  db: SqlRunner,
  spec: LookupSpec,
): (keys: string[]) => Promise<ReadonlyMap<string, readonly R[]>> {
  db.serving?.declare(spec);
  return async (keys) => {
    const held = db.serving?.rows<R>(spec, keys);
    const missing = held ? keys.filter((k) => !held.has(k)) : keys;
    if (held && missing.length === 0) return held;
    db.batch?.(missing.length);
    const fetched = groupByKey<R>(await db.all(lookupSql(spec, `${spec.key} IN (${inList(missing)})`)));
    if (!held) return fetched;
    const all = new Map(held);
    for (const k of missing) all.set(k, fetched.get(k) ?? []);
    return all;
  };
}

/** One row per key (an entity by id). */
export function byKey<R extends Row>(db: SqlRunner, spec: LookupSpec): DataLoader<string, R | null> {
  const source = lookupSource<R>(db, spec);
  return new DataLoader((all) =>
    validOnly(all, String, async (keys) => {
      const rows = await source(keys);
      return keys.map((k) => (rows.get(k)?.[0] as R | undefined) ?? null);
    }),
  );
}

/** Every row per key, in the lookup's order (a one-to-many list: the items of an order). */
export function listByKey<R extends Row>(
  db: SqlRunner,
  spec: LookupSpec & { orderBy: string },
): DataLoader<string, readonly R[]> {
  const source = lookupSource<R>(db, spec);
  return new DataLoader((all) =>
    validOnly(all, String, async (keys) => {
      const rows = await source(keys);
      return keys.map((k) => rows.get(k) ?? []);
    }),
  );
}

/**
 * A keyset page of a one-to-many list per key (`orders(first, after)`): the rows after the cursor `after` in the
 * lookup's order, at most `first`. `cursor` names the fields that make a row's position (the orderBy columns, as
 * selected) and whether the order is descending.
 */
export function pageByKey<R extends Row>(
  db: SqlRunner,
  spec: LookupSpec & { orderBy: string; cursor: { fields: (keyof R & string)[]; descending: boolean } },
): DataLoader<{ key: string; args: { first: number; after?: (string | number)[] } }, R[], string> {
  const source = lookupSource<R>(db, spec);
  return new DataLoader<{ key: string; args: { first: number; after?: (string | number)[] } }, R[], string>(
    (requests) =>
      validOnly<{ key: string; args: { first: number; after?: (string | number)[] } }, R[]>(
        requests,
        (r) => r.key,
        async (valid) => {
          const rows = await source([...new Set(valid.map((r) => r.key))]);
          // A cursor of another list's order (another length) has no position in this one.
          return valid.map(({ key, args }) =>
            args.after && args.after.length !== spec.cursor.fields.length
              ? invalidCursor(encodeCursor(args.after))
              : page(rows.get(key) ?? [], args, spec.cursor),
          );
        },
      ),
    { cacheKeyFn: (r) => `${JSON.stringify(r.args)}\0${r.key}` },
  );
}

function page<R extends Row>(
  list: readonly R[],
  args: { first: number; after?: (string | number)[] },
  cursor: { fields: (keyof R & string)[]; descending: boolean },
): R[] {
  let start = 0;
  if (args.after) {
    const after = args.after;
    // Past every row at or before the cursor in the list's order.
    const beyond = (r: R) => {
      const c = compareTuples(
        cursor.fields.map((f) => r[f] as string | number),
        after,
      );
      return cursor.descending ? c < 0 : c > 0;
    };
    while (start < list.length && !beyond(list[start]!)) start++;
  }
  return list.slice(start, start + args.first);
}

function compareTuples(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}
