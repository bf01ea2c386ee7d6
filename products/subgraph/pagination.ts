import { sqlString, MeshError, ErrorCode } from '../../platform/index.js';
import type { SqlRunner } from './types.js';

export const MAX_PAGE = 100;

/** Opaque keyset cursors: base64url of the sort key of the last row seen. */
export function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * A cursor's sort key, or BAD_USER_INPUT naming the cursor: it must be one this API made, `arity` values long when the
 * list's order has that many columns (a cursor of another list, or `[]`, would otherwise page from nowhere).
 */
export function decodeCursor(cursor: string | null | undefined, arity?: number): (string | number)[] | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length > 0 &&
      (arity === undefined || v.length === arity) &&
      v.every((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)))
    )
      return v;
  } catch {
    // falls through to the error below
  }
  throw invalidCursor(cursor);
}

export const invalidCursor = (cursor: string) =>
  new MeshError(
    ErrorCode.BAD_USER_INPUT,
    `invalid cursor "${cursor.slice(0, 64)}": pass a cursor this list gave (pageInfo.endCursor or an edge's cursor)`,
    { parameter: 'after' },
  );

export function pageSize(first: number | null | undefined, fallback = 20): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE)
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `first must be an integer from 0 to ${MAX_PAGE}, got ${n}`);
  return n;
}

/**
 * A Relay-style connection from rows fetched with one extra row to tell whether a next page exists. An empty page
 * (`first: 0`, a count alone) ends where it began: its end cursor is the `after` it was given, so a client following
 * pages continues from there instead of starting over.
 */
export function connection<T>(
  rows: T[],
  first: number,
  cursorOf: (row: T) => (string | number)[],
  totalCount?: number,
  after?: string | null,
) {
  const page = rows.slice(0, first);
  return {
    edges: page.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node })),
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: page.length ? encodeCursor(cursorOf(page[page.length - 1]!)) : (after ?? null),
    },
    totalCount,
  };
}

/**
 * A root connection over one table, paged by a unique key column (keyset, so pages stay stable as data arrives):
 * `select` lists the columns (the key aliased as `id`), `where` filters.
 */
export async function keysetConnection<T extends { id: string }>(
  db: SqlRunner,
  q: { select: string; from: string; key: string; where: string; first?: number | null; after?: string | null },
) {
  const first = pageSize(q.first);
  const after = decodeCursor(q.after, 1);
  const rows = await db.all<T>(
    `SELECT ${q.select} FROM ${q.from} WHERE ${q.where}
      ${after ? `AND ${q.key} > ${sqlString(String(after[0]))}` : ''} ORDER BY ${q.key} LIMIT ${first + 1}`,
  );
  const [count] = await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${q.from} WHERE ${q.where}`);
  return connection(rows, first, (r) => [r.id], Number(count?.n ?? 0), q.after);
}
