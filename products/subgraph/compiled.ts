import {
  GraphQLError,
  execute,
  getNullableType,
  isAbstractType,
  isIntrospectionType,
  isListType,
  isObjectType,
  type DocumentNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { ErrorCode } from '../../platform/index.js';

const SEEN_ONCE = 'seen once';
const NOT_COMPILED = 'not compiled';

export interface CompiledExecutionOptions {
  /** Operations remembered, compiled or not: the gateway sends a bounded set of documents, clients may not. */
  maxOperations?: number;
  /** graphql-jit's compiler (tests give one that fails). */
  compile?: typeof compileQuery;
  /**
   * Told when an operation could not be compiled, or graphql-jit could not complete a value of it, and stays on
   * graphql-js.
   */
  onCompileError?: (err: unknown) => void;
}

/**
 * A subgraph's operations run by graphql-jit from their second request on: each is compiled once into a function that
 * resolves and completes fields without graphql-js's per-field info objects, paths and argument coercion (100 entities
 * x 50 features, executed in process: 9-12 ms on graphql-js, 5-7 ms compiled). A document's first request
 * runs on graphql-js, so one-off documents never pay for a compilation (1-2 ms each). Apollo Server's one seam for
 * another executor is its gateway interface; parsing, validation, plugins, error formatting and HTTP stay Apollo's.
 */
export function compiledExecution(schema: GraphQLSchema, options: CompiledExecutionOptions = {}): GatewayInterface {
  guardCompletions(schema);
  const compile = options.compile ?? compileQuery;
  // Keyed by Apollo's hash of the query text.
  const operations = new LRUCache<string, CompiledQuery | typeof SEEN_ONCE | typeof NOT_COMPILED>({
    max: options.maxOperations ?? 500,
  });
  // graphql-jit may not cover all that graphql-js runs: what it cannot compile stays on graphql-js, never a failure.
  const tryCompile = (document: DocumentNode, operationName?: string): CompiledQuery | typeof NOT_COMPILED => {
    try {
      const built = compile(schema, document, operationName);
      if (isCompiledQuery(built)) return built;
    } catch (err) {
      options.onCompileError?.(err);
    }
    return NOT_COMPILED;
  };
  const executor: GatewayExecutor = async (rc) => {
    const key = `${rc.operationName ?? ''}\u0000${rc.queryHash}`;
    const interpreted = () =>
      execute({
        schema,
        document: rc.document,
        contextValue: rc.context,
        variableValues: rc.request.variables,
        operationName: rc.operationName,
      });
    let query = operations.get(key);
    if (query === undefined) {
      operations.set(key, SEEN_ONCE);
      return interpreted();
    }
    if (query === SEEN_ONCE) operations.set(key, (query = tryCompile(rc.document, rc.operationName ?? undefined)));
    if (query === NOT_COMPILED) return interpreted();
    let result: Awaited<ReturnType<CompiledQuery['query']>> | undefined;
    try {
      result = await query.query(undefined, rc.context, rc.request.variables ?? {});
    } catch (err) {
      // Where no promise stood between, graphql-jit's completion throws straight out of the query.
      completionErrors.set(rc.context, err);
    }
    if (result === undefined || completionErrors.has(rc.context)) {
      // A value graphql-jit could not complete (see guardCompletions): graphql-js answers, now and from now on.
      options.onCompileError?.(completionErrors.get(rc.context));
      operations.set(key, NOT_COMPILED);
      return interpreted();
    }
    if (!result.errors) return result;
    // No data at all: the variables did not fit the operation, which is the client's mistake (400, BAD_USER_INPUT).
    if (result.data === undefined)
      return {
        errors: result.errors.map(
          (e) => new GraphQLError(e.message, { extensions: { code: ErrorCode.BAD_USER_INPUT } }),
        ),
      };
    return { ...result, errors: result.errors.map(asGraphQLError) };
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}

const guardedSchemas = new WeakSet<GraphQLSchema>();
// Per request context: the first throw caught while a resolver's value was being completed.
const completionErrors = new WeakMap<object, unknown>();
const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v != null && typeof (v as { then?: unknown }).then === 'function';

/**
 * Where graphql-jit and graphql-js part, graphql-js answers:
 * - graphql-jit completes a field inside the `then` callback of its resolver's promise, and does not catch there: a
 *   value that throws as it is read (a getter) rejects a promise nobody handles, the request never answers and Node
 *   ends the process. So every resolver's promise, and each promise in a list it returns, reaches the engines as a
 *   thenable that hands such a throw to the engine's own error callback and notes it for the request.
 * - graphql-jit reads a field without a resolver as it is: a promise there would be completed as the object itself,
 *   its fields null, where graphql-js awaits it; the promises of such a list it awaits outside any resolver's, where a
 *   throw is not caught. So each object type checks that its value is not a promise (graphql-js never hands it one)
 *   and, under graphql-jit, that none of its lists without a resolver holds one, and throws, noted as above, if so.
 * A noted request is answered by graphql-js. The schema's types are changed in place, once; introspection's types,
 * shared by every schema, and the members of an abstract type that relies on isTypeOf to tell them apart, are left.
 */
function guardCompletions(schema: GraphQLSchema): void {
  if (guardedSchemas.has(schema)) return;
  guardedSchemas.add(schema);
  const types = Object.values(schema.getTypeMap()).filter((t) => !isIntrospectionType(t));
  const typedByIsTypeOf = new Set(
    types.flatMap((t) => (isAbstractType(t) && !t.resolveType ? schema.getPossibleTypes(t) : [])),
  );
  for (const type of types) {
    if (!isObjectType(type)) continue;
    if (!type.isTypeOf && !typedByIsTypeOf.has(type)) type.isTypeOf = notAPromise(type);
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = (source, args, context: object, info) => {
        const result: unknown = resolve(source, args, context, info);
        if (isThenable(result)) return guarded(result, context);
        if (Array.isArray(result) && result.some(isThenable))
          return result.map((item: unknown) => (isThenable(item) ? guarded(item, context) : item));
        return result;
      };
    }
  }
}

function notAPromise(
  type: GraphQLObjectType,
): (value: unknown, context?: unknown, info?: GraphQLResolveInfo) => boolean {
  const lists = Object.values(type.getFields()).flatMap((f) =>
    !f.resolve && isListType(getNullableType(f.type)) ? [f.name] : [],
  );
  return (value, _context, info) => {
    if (isThenable(value))
      throw new Error(
        `a ${type.name} read from a field without a resolver is a promise, which graphql-jit does not await`,
      );
    // graphql-js passes its info and awaits list items itself; graphql-jit passes the value alone.
    if (info !== undefined || value === null || typeof value !== 'object') return true;
    for (const name of lists) {
      // The descriptor, not the property: a getter is not run here.
      const held: unknown = Object.getOwnPropertyDescriptor(value, name)?.value;
      if (Array.isArray(held) && held.some(isThenable))
        throw new Error(`${type.name}.${name} holds promises, which graphql-jit completes outside any resolver`);
    }
    return true;
  };
}

function guarded(promise: PromiseLike<unknown>, context: object): PromiseLike<unknown> {
  return {
    // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose: the engines await it as its promise
    then<A = unknown, B = never>(
      onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
      onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
    ): PromiseLike<A | B> {
      const settle =
        onFulfilled &&
        ((value: unknown): A | B | PromiseLike<A | B> => {
          try {
            return onFulfilled(value);
          } catch (err) {
            if (!completionErrors.has(context)) completionErrors.set(context, err);
            if (!onRejected) throw err;
            return onRejected(err);
          }
        });
      return promise.then<A | B, B>(settle, onRejected);
    },
  };
}

/**
 * graphql-jit's errors leave `extensions` undefined where Apollo's formatting expects an object (graphql-js's shape).
 */
function asGraphQLError(e: GraphQLError): GraphQLError {
  const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError, extensions: e.extensions });
  return Object.assign(error, { locations: e.locations });
}
