import type { Duck } from '../../platform/duckdb.js';
import type { ContractSchemaObject } from '../contracts/types.js';

export interface QualityResult {
  dataset: string;
  column?: string;
  rule: string;
  /** Where the rule comes from: implicit (required/unique/primary key), ODCS library or sql, Great Expectations, or mesh. */
  kind: 'implicit' | 'library' | 'sql' | 'great-expectations' | 'mesh';
  dimension?: string;
  severity: string;
  blocking: boolean;
  passed: boolean;
  observed: number | string | null;
  expected: string;
  elementCount?: number;
  unexpectedCount?: number;
  message: string;
}

export interface QualityContext {
  duck: Duck;
  /** SQL reference to the DuckDB table holding the dataset, unmasked (already quoted, e.g. curated."orders"). */
  table: string;
  object: ContractSchemaObject;
  /** The reference time for freshness: the extract's as-of time. */
  asOf: Date;
  blockingSeverities: string[];
}

/** What a rule's SQL measures: map rules count unexpected rows among elements; aggregate rules observe one value. */
export type Measure =
  | { kind: 'map'; sql: string; mostly: number }
  | { kind: 'aggregate'; sql: string; check: (observed: unknown) => { passed: boolean; expected: string } };
