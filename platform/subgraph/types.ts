import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { Identity } from '../auth.js';

/** What domain resolvers get: SQL over curated data, their DataLoaders, PII access, the caller. No transport types. */
export interface SubgraphContext<L = unknown> {
  identity: Identity;
  db: SqlRunner;
  loaders: L;
  pii: PiiAccessor;
}

export interface SqlRunner {
  all<T extends Record<string, unknown> = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Told the size of each DataLoader batch (keys answered by one query), for metrics. */
  batch?(keys: number): void;
}

export interface PiiAccessor {
  /**
   * The value a caller may see for a PII column of this domain's `dataset`: the curated (masked) value, or the clear value
   * from the restricted layer when the caller's role allows it. `key` is the dataset's primary key value.
   */
  reveal(dataset: string, key: string, column: string, masked: string | null): Promise<string | null>;
}

/** A domain's subgraph: per-request DataLoaders and resolvers; schema.graphql sits beside it. */
export interface SubgraphModule<L> {
  loaders(db: SqlRunner): L;
  resolvers: GraphQLResolverMap<SubgraphContext<L>>;
}

export function defineSubgraph<L>(module: SubgraphModule<L>): SubgraphModule<L> {
  return module;
}
