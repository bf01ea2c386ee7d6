import { getNullableType, isEnumType, isListType, isNonNullType, type GraphQLInputType } from 'graphql';
import { MeshError, ErrorCode } from '../../platform/index.js';
import type { BoundEndpoint } from './shape.js';

/**
 * The operation's variables from a REST request's path and query string, typed by the variables' GraphQL types. An
 * unknown, repeated, missing or ill-typed parameter is a BAD_USER_INPUT that names it: a client's typo never silently
 * widens a query.
 */
export function readParameters(
  bound: BoundEndpoint,
  pathValues: Record<string, string>,
  query: URLSearchParams,
): Record<string, unknown> {
  const known = new Set(bound.parameters.filter((p) => p.in === 'query').map((p) => p.name));
  for (const name of new Set(query.keys()))
    if (!known.has(name))
      throw bad(name, `is not a parameter of this resource${known.size ? ` (known: ${[...known].join(', ')})` : ''}`);
  const variables: Record<string, unknown> = {};
  for (const p of bound.parameters) {
    const raw =
      p.in === 'path' ? (pathValues[p.name] === undefined ? [] : [pathValues[p.name]!]) : query.getAll(p.name);
    if (raw.length === 0) {
      if (p.required) throw bad(p.name, 'is required');
      continue;
    }
    variables[p.name] = coerce(p.name, p.type, raw);
  }
  return variables;
}

function coerce(name: string, type: GraphQLInputType, raw: string[]): unknown {
  const inner = getNullableType(type);
  if (isListType(inner)) return raw.flatMap((r) => r.split(',')).map((r) => coerceOne(name, inner.ofType, r));
  if (raw.length > 1) throw bad(name, 'is given more than once');
  return coerceOne(name, type, raw[0]!);
}

function coerceOne(name: string, type: GraphQLInputType, raw: string): unknown {
  const inner = getNullableType(type);
  if (raw === '' && isNonNullType(type)) throw bad(name, 'must not be empty');
  if (isEnumType(inner)) {
    if (!inner.getValue(raw))
      throw bad(
        name,
        `must be one of ${inner
          .getValues()
          .map((v) => v.name)
          .join(', ')}`,
      );
    return raw;
  }
  switch ('name' in inner ? inner.name : '') {
    case 'Int': {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n > 2 ** 31 - 1 || n < -(2 ** 31))
        throw bad(name, `must be a 32-bit integer, got "${raw}"`);
      return n;
    }
    case 'Float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw bad(name, `must be a number, got "${raw}"`);
      return n;
    }
    case 'Boolean':
      if (raw !== 'true' && raw !== 'false') throw bad(name, `must be true or false, got "${raw}"`);
      return raw === 'true';
    default:
      return raw;
  }
}

function bad(name: string, message: string): MeshError {
  return new MeshError(ErrorCode.BAD_USER_INPUT, `parameter "${name}" ${message}`, { parameter: name });
}
