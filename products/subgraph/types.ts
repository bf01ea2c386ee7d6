import type { GraphQLFieldResolver, GraphQLScalarType } from 'graphql';
import type { and } from 'graphql-shield';
import { MeshError, ErrorCode, type Identity } from '../../platform/index.js';
import type { ServingView } from './servingCopy.js';

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
  /** The serving copy of this request (one version): the declared lookups (`byKey`, …) read it instead of DuckDB. */
  serving?: ServingView;
}

export interface PiiAccessor {
  /**
   * The value a caller may see for a PII column of this domain's `dataset`: the curated (masked) value, or the clear
   * value from the restricted layer when the caller's role allows it. `key` is the dataset's primary key value.
   */
  reveal(dataset: string, key: string, column: string, masked: string | null): Promise<string | null>;
}

/** Resolvers by type and field (`__resolveReference` for entities), the shape `buildSubgraphSchema` takes. */
export type ResolverMap<C> = Record<
  string,
  Record<string, GraphQLFieldResolver<never, C> | { resolve: GraphQLFieldResolver<never, C> }> | GraphQLScalarType
>;

/** A graphql-shield rule (`rule`, `and`, `or`, `not`, …) for one field. */
export type ShieldRule = Parameters<typeof and>[number];

/**
 * Rules by type and field, in graphql-shield's rule-tree shape: a domain's own, served in one tree with the PII rules
 * governance generates for its schema (a field under both needs both). Fields without a rule are not wrapped.
 */
export type RuleTree = Record<string, Record<string, ShieldRule>>;

/** A domain's subgraph: per-request DataLoaders and resolvers, and its own field rules; schema.graphql beside it. */
export interface SubgraphModule<L> {
  loaders(db: SqlRunner): L;
  resolvers: ResolverMap<SubgraphContext<L>>;
  rules?: RuleTree;
}

/** A client mistake (a malformed argument): 400-class, its message shown to the client as written. */
export function badUserInput(message: string): MeshError {
  return new MeshError(ErrorCode.BAD_USER_INPUT, message);
}

/** A calendar date argument (YYYY-MM-DD, a real day), or BAD_USER_INPUT naming the argument. */
export function isoDate(name: string, value: string): string {
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ||
    new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value
  ) {
    throw badUserInput(`${name} must be a date YYYY-MM-DD, got "${value.slice(0, 40)}"`);
  }
  return value;
}

export function defineSubgraph<L>(module: SubgraphModule<L>): SubgraphModule<L> {
  return module;
}
