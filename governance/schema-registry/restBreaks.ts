import type { GraphQLSchema } from 'graphql';
import { ErrorCode, isMeshError } from '../../platform/index.js';
import { bindEndpoint, type BoundEndpoint, type JsonSchema, type RestEndpoint } from '../../products/index.js';

export interface RestBreak {
  endpoint: RestEndpoint;
  /** `GET /sales/v1/customers/{id} (SalesCustomer)`: how the failure names it. */
  label: string;
  problems: string[];
}

/**
 * Published REST endpoints a candidate supergraph would break: an operation that no longer validates, or a response
 * or parameter schema a client of the old one could not read. Persisted operations have clients we cannot see, so
 * this holds whatever the recorded traffic says, and for every major still served.
 */
export function restBreaks(
  endpoints: RestEndpoint[],
  before: GraphQLSchema | undefined,
  after: GraphQLSchema,
): RestBreak[] {
  const out: RestBreak[] = [];
  for (const endpoint of endpoints) {
    const label = `${endpoint.method} ${endpoint.path} (${endpoint.name}, ${endpoint.file})`;
    const bind = (schema: GraphQLSchema): BoundEndpoint | string => {
      try {
        return bindEndpoint(schema, endpoint);
      } catch (err) {
        if (!isMeshError(err, ErrorCode.SCHEMA_CHECK_FAILED)) throw err;
        return String(err.details.reason);
      }
    };
    const now = bind(after);
    if (typeof now === 'string') {
      out.push({ endpoint, label, problems: [`the operation no longer validates: ${now}`] });
      continue;
    }
    const then = before && bind(before);
    if (!then || typeof then === 'string') continue;
    const problems = [
      ...incompatibilities(then.resource, now.resource, 'data'),
      ...then.parameters.flatMap((p) => {
        const q = now.parameters.find((x) => x.name === p.name);
        if (!q) return [`parameter ${p.name} is gone`];
        // Reversed: every value the old parameter took must still be taken.
        const narrower = incompatibilities(q.schema, p.schema, 'value');
        return [
          ...(q.required && !p.required ? [`parameter ${p.name} is now required`] : []),
          ...(narrower.length ? [`parameter ${p.name} accepts less than before (${narrower.join('; ')})`] : []),
        ];
      }),
    ];
    if (problems.length) out.push({ endpoint, label, problems });
  }
  return out;
}

/**
 * Where a value valid under `after` might not be valid under `before` (what clients were promised): a wider type
 * (nullable now), new enum values, another format, a property no longer required.
 */
function incompatibilities(before: JsonSchema, after: JsonSchema, at: string): string[] {
  const [b, a] = [normalize(before), normalize(after)];
  const out: string[] = [];
  const wider = a.types.filter((t) => !b.types.includes(t));
  if (b.types.length && wider.length) out.push(`${at}: was ${b.types.join(' or ')}, now ${a.types.join(' or ')}`);
  if (b.schema.format !== a.schema.format && b.schema.format !== undefined)
    out.push(`${at}: format was ${String(b.schema.format)}, now ${String(a.schema.format ?? 'none')}`);
  if (Array.isArray(b.schema.enum)) {
    const added = ((a.schema.enum as unknown[] | undefined) ?? ['(any value)']).filter(
      (v) => !(b.schema.enum as unknown[]).includes(v),
    );
    if (added.length) out.push(`${at}: may now be ${added.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  const [bp, ap] = [
    b.schema.properties as Record<string, JsonSchema> | undefined,
    a.schema.properties as Record<string, JsonSchema> | undefined,
  ];
  if (bp) {
    const required = new Set((a.schema.required as string[] | undefined) ?? []);
    for (const [name, s] of Object.entries(bp)) {
      if (!ap?.[name]) out.push(`${at}.${name}: is gone`);
      else {
        if (((b.schema.required as string[] | undefined) ?? []).includes(name) && !required.has(name))
          out.push(`${at}.${name}: may now be absent`);
        out.push(...incompatibilities(s, ap[name], `${at}.${name}`));
      }
    }
  }
  if (b.schema.items && a.schema.items)
    out.push(...incompatibilities(b.schema.items as JsonSchema, a.schema.items as JsonSchema, `${at}[]`));
  return out;
}

/** A schema's JSON types and its non-null part (nullable objects are `anyOf: [object, null]`). */
function normalize(s: JsonSchema): { types: string[]; schema: JsonSchema } {
  if (Array.isArray(s.anyOf)) {
    const parts = (s.anyOf as JsonSchema[]).map(normalize);
    const main = parts.find((p) => !p.types.every((t) => t === 'null'));
    return { types: [...new Set(parts.flatMap((p) => p.types))], schema: main?.schema ?? {} };
  }
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  return { types, schema: s };
}
