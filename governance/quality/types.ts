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
}

/** What a rule's SQL measures: map rules count unexpected rows among elements; aggregate rules observe one value. */
export type Measure =
  | { kind: 'map'; sql: string; mostly: number }
  | { kind: 'aggregate'; sql: string; check: (observed: unknown) => { passed: boolean; expected: string } };
