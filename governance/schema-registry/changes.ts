import { parse, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { diff, CriticalityLevel, type Change } from '@graphql-inspector/core';
import { parse as parseYaml } from 'yaml';
import { MeshError, ErrorCode } from '../../platform/index.js';

export type Criticality = 'BREAKING' | 'DANGEROUS' | 'SAFE';

export interface SchemaChange {
  criticality: Criticality;
  path: string;
  message: string;
  source: 'schema' | 'contract';
  /** graphql-inspector's change type (FIELD_REMOVED, …) or the contract rule. */
  type: string;
}

/** A subgraph SDL as a schema, with the federation types it implies, so two versions diff like for like. */
export function subgraphSchema(sdl: string, name: string): GraphQLSchema {
  try {
    return buildSubgraphSchema({ typeDefs: parse(sdl) });
  } catch (err) {
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `schema of ${name} does not build: ${(err as Error).message}`);
  }
}

const LEVEL: Record<CriticalityLevel, Criticality> = {
  [CriticalityLevel.Breaking]: 'BREAKING',
  [CriticalityLevel.Dangerous]: 'DANGEROUS',
  [CriticalityLevel.NonBreaking]: 'SAFE',
};

/** Schema changes between two SDLs of one subgraph, classified by graphql-inspector. */
export async function schemaChanges(before: string, after: string, name: string): Promise<SchemaChange[]> {
  const changes: Change[] = await diff(subgraphSchema(before, name), subgraphSchema(after, name));
  return changes.map((c) => ({
    criticality: LEVEL[c.criticality.level],
    path: c.path ?? '',
    message: c.message,
    source: 'schema',
    type: c.type,
  }));
}

interface OdcsProperty {
  name: string;
  logicalType?: string;
  physicalType?: string;
  required?: boolean;
  classification?: string;
  quality?: unknown[];
}
interface OdcsObject {
  name: string;
  properties?: OdcsProperty[];
  quality?: unknown[];
}

/**
 * Compatibility of two versions of a domain's ODCS contract, as its consumers see it: removed or retyped properties,
 * properties made required, changed classifications and new or changed quality rules are breaking; loosened rules and
 * new required properties are dangerous; new optional properties are safe.
 */
export function contractChanges(before: string, after: string): SchemaChange[] {
  const objects = (text: string) =>
    new Map(((parseYaml(text) as { schema?: OdcsObject[] }).schema ?? []).map((o) => [o.name, o]));
  const [old, next] = [objects(before), objects(after)];
  const out: SchemaChange[] = [];
  const add = (criticality: Criticality, path: string, type: string, message: string) =>
    out.push({ criticality, path, message, source: 'contract', type });
  for (const [name, o] of old) {
    const n = next.get(name);
    if (!n) {
      add('BREAKING', name, 'OBJECT_REMOVED', `Dataset '${name}' was removed from the contract`);
      continue;
    }
    rules(add, name, o.quality, n.quality);
    const props = new Map((n.properties ?? []).map((p) => [p.name, p]));
    for (const p of o.properties ?? []) {
      const q = props.get(p.name);
      const path = `${name}.${p.name}`;
      if (!q) {
        add('BREAKING', path, 'PROPERTY_REMOVED', `Property '${path}' was removed`);
        continue;
      }
      if (p.logicalType !== q.logicalType || p.physicalType !== q.physicalType) {
        add(
          'BREAKING',
          path,
          'PROPERTY_TYPE_CHANGED',
          `Property '${path}' changed type ` +
            `from ${p.physicalType ?? p.logicalType} to ${q.physicalType ?? q.logicalType}`,
        );
      }
      if (!p.required && q.required)
        add('BREAKING', path, 'PROPERTY_MADE_REQUIRED', `Property '${path}' became required`);
      if (p.required && !q.required)
        add(
          'DANGEROUS',
          path,
          'PROPERTY_MADE_OPTIONAL',
          `Property '${path}' is no longer required: consumers may now see nulls`,
        );
      if (p.classification !== q.classification)
        add(
          'BREAKING',
          path,
          'CLASSIFICATION_CHANGED',
          `Property '${path}' changed classification from ${p.classification} to ${q.classification}`,
        );
      rules(add, path, p.quality, q.quality);
    }
    const oldProps = new Set((o.properties ?? []).map((p) => p.name));
    for (const q of n.properties ?? []) {
      if (oldProps.has(q.name)) continue;
      const path = `${name}.${q.name}`;
      if (q.required) add('DANGEROUS', path, 'REQUIRED_PROPERTY_ADDED', `Required property '${path}' was added`);
      else add('SAFE', path, 'PROPERTY_ADDED', `Optional property '${path}' was added`);
    }
  }
  for (const name of next.keys()) if (!old.has(name)) add('SAFE', name, 'OBJECT_ADDED', `Dataset '${name}' was added`);
  return out;
}

function rules(
  add: (c: Criticality, path: string, type: string, message: string) => void,
  path: string,
  before: unknown[] = [],
  after: unknown[] = [],
): void {
  const key = (r: unknown) => JSON.stringify(r);
  const old = new Set(before.map(key));
  const next = new Set(after.map(key));
  for (const r of next)
    if (!old.has(r))
      add('BREAKING', path, 'QUALITY_RULE_TIGHTENED', `A new or changed quality rule on '${path}': ${ruleName(r)}`);
  for (const r of old)
    if (!next.has(r))
      add(
        'DANGEROUS',
        path,
        'QUALITY_RULE_REMOVED',
        `A quality rule on '${path}' was removed or changed: ${ruleName(r)}`,
      );
}

function ruleName(json: string): string {
  const r = JSON.parse(json) as { name?: string; rule?: string; metric?: string; type?: string };
  return r.name ?? r.rule ?? r.metric ?? r.type ?? json.slice(0, 80);
}
