import { sqlIdent as id, sqlString, type Duck } from '../../platform/index.js';

/**
 * A predicate keeping the rows whose `column` lies within the range of its values in `relation`, its bounds as
 * literals (not a subquery: only constants reach a Parquet scan's statistics), so the scan skips the row groups outside
 * it: most of them when values grow with time, as event and order ids do. `false` when the relation holds none.
 */
export async function withinRange(duck: Duck, relation: string, column: string): Promise<string> {
  const c = id(column);
  const { lo, hi, type } = await duck.one<{ lo: string | null; hi: string | null; type: string | null }>(
    `SELECT min(${c})::VARCHAR AS lo, max(${c})::VARCHAR AS hi, any_value(typeof(${c})) AS type FROM ${relation}`,
  );
  if (lo === null || hi === null || type === null) return 'false';
  return `${c} BETWEEN CAST(${sqlString(lo)} AS ${type}) AND CAST(${sqlString(hi)} AS ${type})`;
}
