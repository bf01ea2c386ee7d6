import {
  getNamedType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Lineage } from './platformLineage.js';
import type { FieldSource } from './fieldLineage.js';
import {
  columnLineageFacet,
  jobTypeFacet,
  operationStatsFacet,
  runEvent,
  schemaFacet,
  included,
  operationSignature,
  type InputField,
  type RunEvent,
} from '../platform/index.js';
import { curatedName } from '../products/index.js';
import type { PiiAccess } from '../governance/index.js';

/** A field in an operation's response: its path (aliases as the client sees them) and its schema coordinate. */
export interface ResponseField {
  path: string;
  coordinate: string;
}

/** Every field an operation selects, fragments expanded, with its response path. */
export function responseFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Record<string, unknown>,
): ResponseField[] {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const operation = operations.find((o) => (operationName ? o.name?.value === operationName : true));
  if (!operation) return [];
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === 'FragmentDefinition')
      .map((f) => [f.name.value, f]),
  );
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const out: ResponseField[] = [];
  const walk = (set: SelectionSetNode, type: GraphQLCompositeType, prefix: string) => {
    for (const sel of set.selections) {
      if (variables && !included(sel, variables)) continue;
      if (sel.kind === 'Field') {
        if (sel.name.value.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
        const def = type.getFields()[sel.name.value];
        if (!def) continue;
        const path = `${prefix}${sel.alias?.value ?? sel.name.value}`;
        out.push({ path, coordinate: `${type.name}.${def.name}` });
        const named = getNamedType(def.type);
        if (sel.selectionSet && (isObjectType(named) || isInterfaceType(named)))
          walk(sel.selectionSet, named, `${path}.`);
      } else {
        const fragment = sel.kind === 'InlineFragment' ? sel : fragments.get(sel.name.value);
        if (!fragment) continue;
        const cond = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : type;
        if (cond && (isObjectType(cond) || isInterfaceType(cond))) walk(fragment.selectionSet, cond, prefix);
      }
    }
  };
  if (root) walk(operation.selectionSet, root, '');
  return out;
}

export interface OperationRecord {
  name: string;
  document: DocumentNode;
  schema: GraphQLSchema;
  client: string;
  role: string;
  /** PII fields (`Type.field`) and what this role gets from each: the clear value, a token, or nothing. */
  piiAccess: (coordinate: string) => PiiAccess | undefined;
}

interface Pending {
  event: Pick<RunEvent, 'job' | 'inputs' | 'outputs'>;
  client: string;
  role: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * Lineage of gateway operations: each response field back to the curated columns it reads, through the subgraph
 * fields' declared lineage. An entity key resolved by several subgraphs is a JOIN edge on the whole output. Identical
 * operations (same document, client and role) are counted and sent as one event per interval.
 */
export class OperationLineage {
  private pending = new Map<string, Pending>();
  private readonly described = new Map<string, Pending['event']>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly lineage: Lineage,
    private readonly fields: Map<string, FieldSource[]>,
    intervalMs = 5000,
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  record(op: OperationRecord): void {
    const signature = operationSignature(op.document);
    const key = `${signature}\u0000${op.client}\u0000${op.role}`;
    const now = new Date().toISOString();
    const seen = this.pending.get(key);
    if (seen) {
      seen.count++;
      seen.lastSeen = now;
      return;
    }
    let event = this.described.get(`${signature}\u0000${op.role}`);
    if (!event) {
      event = this.describe(op, signature);
      if (this.described.size > 5000) this.described.clear();
      this.described.set(`${signature}\u0000${op.role}`, event);
    }
    this.pending.set(key, { event, client: op.client, role: op.role, count: 1, firstSeen: now, lastSeen: now });
  }

  flush(): void {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    for (const p of batch) {
      const stats = operationStatsFacet({
        count: p.count,
        firstSeen: p.firstSeen,
        lastSeen: p.lastSeen,
        client: p.client,
        role: p.role,
      });
      this.lineage.emit(runEvent({ eventType: 'COMPLETE', ...p.event, runFacets: { mesh_operationStats: stats } }));
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private describe(op: OperationRecord, signature: string): Pending['event'] {
    const ns = this.lineage.storeNamespace;
    const fields: Record<string, InputField[]> = {};
    const joins = new Map<string, InputField>();
    const datasets = new Set<string>();
    for (const f of responseFields(op.schema, op.document, op.name === 'anonymous' ? undefined : op.name)) {
      const sources = this.fields.get(f.coordinate) ?? [];
      const access = op.piiAccess(f.coordinate);
      if (access === 'deny') continue; // never fetched: pruned before planning
      const inputs: InputField[] = [];
      for (const s of sources) {
        for (const c of s.columns) {
          const name = curatedName(c.domain, c.dataset);
          datasets.add(name);
          const masking = access === 'masked';
          inputs.push({
            namespace: ns,
            name,
            field: c.column,
            transformations: [
              {
                type: s.computed ? 'INDIRECT' : 'DIRECT',
                subtype: s.computed ? 'AGGREGATION' : 'IDENTITY',
                ...(masking ? { masking: true } : {}),
              },
            ],
          });
        }
      }
      // A field two subgraphs resolve is an entity key: the domains join on it.
      if (sources.length > 1)
        for (const s of sources)
          for (const c of s.columns)
            joins.set(`${c.domain}.${c.dataset}.${c.column}`, {
              namespace: ns,
              name: curatedName(c.domain, c.dataset),
              field: c.column,
              transformations: [{ type: 'INDIRECT', subtype: 'JOIN' }],
            });
      fields[f.path] = inputs;
    }
    return {
      job: {
        namespace: this.lineage.namespace,
        name: `gateway.${op.name}`,
        facets: { jobType: jobTypeFacet('QUERY', 'SERVICE') },
      },
      inputs: [...datasets].sort().map((name) => ({ namespace: ns, name })),
      outputs: [
        {
          namespace: 'mesh://gateway',
          name: `operation.${op.name}.${signature}`,
          facets: {
            schema: schemaFacet(Object.keys(fields).map((name) => ({ name }))),
            columnLineage: columnLineageFacet(fields, [...joins.values()]),
          },
        },
      ],
    };
  }
}
