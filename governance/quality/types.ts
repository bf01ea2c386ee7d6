import type { Duck } from '../../platform/index.js';
import type { ContractSchemaObject } from '../contracts/types.js';
import type { QualityResult } from '../../products/index.js';

export type { QualityResult };

export interface QualityContext {
  duck: Duck;
  /** SQL reference to the DuckDB table holding the dataset, unmasked (already quoted, e.g. curated."orders"). */
  table: string;
  object: ContractSchemaObject;
  /** The reference time for freshness: the extract's as-of time. */
  asOf: Date;
  blockingSeverities: string[];
  /**
   * What changed since the version `previous` results were measured on: rows `removed` (a relation, in clear) and
   * rows `added`, the dataset recomputed by `by`. Rules whose measure adds up are then measured on the change only.
   */
  change?: {
    added: string;
    removed: string;
    by?: string;
    previous: QualityResult[];
    /** Whether every row `dataset` changed in this run has a `by` value this dataset recomputed. */
    changedWithin?: (dataset: string) => Promise<boolean>;
  };
}

/**
 * How a count rule's measure combines over parts of a dataset: `rows`, summed over any split (a predicate per row);
 * `groups`, summed over a split that keeps rows equal on these columns together (duplicates among them); `partner`, the
 * rows without a row of another curated dataset equal `on` one column (rows of the one depend on rows of the other
 * with the same value only).
 */
export type Additive = 'rows' | { groups: string[] } | { partner: string; on: string };

/** What a rule's SQL measures: map rules count unexpected rows among elements; aggregate rules observe one value. */
export type Measure =
  | { kind: 'map'; sql: string; mostly: number; additive?: Additive }
  | { kind: 'aggregate'; sql: string; check: (observed: unknown) => { passed: boolean; expected: string } };
