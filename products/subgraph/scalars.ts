import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** ISO-8601 UTC timestamps. DuckDB hands TIMESTAMPs over as "YYYY-MM-DD HH:MM:SS[.fff]" in UTC. */
export const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return toIso(value);
    throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
  },
  parseValue(value) {
    return parse(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parse(ast.value);
  },
});

function toIso(s: string): string {
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  if (Number.isNaN(d.getTime())) throw new GraphQLError(`DateTime cannot represent "${s}"`);
  return d.toISOString();
}

function parse(value: unknown): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
    throw new GraphQLError(`DateTime must be an ISO-8601 string, got ${JSON.stringify(value)}`);
  return new Date(value).toISOString();
}
