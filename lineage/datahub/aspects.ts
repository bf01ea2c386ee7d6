import type { Owner } from './catalog.js';
import { datasetUrn, fieldUrn, glossaryTermUrn, PLATFORM, tagUrn } from './urns.js';

/** A column edge as DataHub draws it: an input field, how it reaches the output, masked or not. */
export interface FieldEdge {
  dataset: string;
  field: string;
  type: 'DIRECT' | 'INDIRECT';
  subtype: string;
  masking?: boolean;
}

/** How a PII field is handled where it sits, with its kind: the tags and glossary terms it carries. */
export interface PiiMark {
  kind: string;
  classification: string;
  handling: 'tokenized' | 'denied' | 'restricted';
}

export const PII_TERM = (name: string) => glossaryTermUrn(`mesh.pii.${name}`);
export const PII_TAG = (kind: string) => tagUrn(`pii:${kind}`);

const TYPES: [RegExp, string][] = [
  [/^(VARCHAR|TEXT|STRING|JSON)/i, 'StringType'],
  [/^BOOL/i, 'BooleanType'],
  [/^DATE$/i, 'DateType'],
  [/^TIMESTAMP|^TIME/i, 'TimeType'],
  [/^(BIGINT|INTEGER|INT|SMALLINT|TINYINT|HUGEINT|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC)/i, 'NumberType'],
  [/\[\]$|^LIST|^ARRAY/i, 'ArrayType'],
  [/^STRUCT/i, 'RecordType'],
];

/** A schema field: DataHub's type for the native one, with PII as a tag of its kind and terms of its handling. */
export function schemaField(
  fieldPath: string,
  nativeDataType: string,
  o: { description?: string; pii?: PiiMark; stamp: { time: number; actor: string } },
): Record<string, unknown> {
  const type = TYPES.find(([re]) => re.test(nativeDataType))?.[1] ?? 'StringType';
  return {
    fieldPath,
    nativeDataType,
    type: { type: { [`com.linkedin.schema.${type}`]: type === 'ArrayType' ? { nestedType: ['string'] } : {} } },
    nullable: true,
    recursive: false,
    ...(o.description ? { description: o.description } : {}),
    ...(o.pii
      ? {
          globalTags: { tags: [{ tag: PII_TAG(o.pii.kind) }] },
          glossaryTerms: {
            terms: [{ urn: PII_TERM(`classification.${o.pii.classification}`) }, { urn: PII_TERM(o.pii.handling) }],
            auditStamp: o.stamp,
          },
        }
      : {}),
  };
}

export function schemaMetadata(name: string, hash: string, fields: Record<string, unknown>[], rawSchema: string) {
  return {
    schemaName: name,
    platform: PLATFORM,
    version: 0,
    hash,
    platformSchema: { 'com.linkedin.schema.OtherSchema': { rawSchema } },
    fields,
  };
}

export function ownership(owners: Owner[], stamp: { time: number; actor: string }) {
  return { owners: owners.map((o) => ({ owner: o.owner, type: o.type })), lastModified: stamp };
}

/**
 * Column lineage as DataHub's fine-grained lineage: one entry per output field and way (`DIRECT:AGGREGATION`,
 * `INDIRECT:FILTER`…, masking as `MASKED:HMAC-SHA256`), with every input field that reaches it that way; what decides
 * every row goes to every field at once (`FIELD_SET`).
 */
export function fineGrainedLineages(
  downstream: string,
  columns: { name: string; edges: FieldEdge[] }[],
  rows: FieldEdge[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const grouped = (edges: FieldEdge[]) => {
    const byWay = new Map<string, FieldEdge[]>();
    for (const e of edges) {
      const way = `${e.type}:${e.subtype}${e.masking ? ' MASKED:HMAC-SHA256' : ''}`;
      byWay.set(way, [...(byWay.get(way) ?? []), e]);
    }
    return [...byWay].sort(([a], [b]) => a.localeCompare(b));
  };
  for (const c of columns)
    for (const [way, edges] of grouped(c.edges))
      out.push({
        upstreamType: 'FIELD_SET',
        upstreams: [...new Set(edges.map((e) => fieldUrn(e.dataset, e.field)))],
        downstreamType: 'FIELD',
        downstreams: [fieldUrn(downstream, c.name)],
        transformOperation: way,
        confidenceScore: 1,
      });
  for (const [way, edges] of grouped(rows))
    out.push({
      upstreamType: 'FIELD_SET',
      upstreams: [...new Set(edges.map((e) => fieldUrn(e.dataset, e.field)))],
      downstreamType: 'FIELD_SET',
      downstreams: columns.map((c) => fieldUrn(downstream, c.name)),
      transformOperation: way,
      confidenceScore: 1,
    });
  return out;
}

/** A dataset's upstreams and fine-grained lineage, from its column edges. */
export function upstreamLineage(
  downstream: string,
  columns: { name: string; edges: FieldEdge[] }[],
  rows: FieldEdge[],
  stamp: { time: number; actor: string },
) {
  const upstreams = [...new Set([...columns.flatMap((c) => c.edges), ...rows].map((e) => e.dataset))].sort();
  return {
    upstreams: upstreams.map((u) => ({ dataset: datasetUrn(u), type: 'TRANSFORMED', auditStamp: stamp })),
    fineGrainedLineages: fineGrainedLineages(downstream, columns, rows),
  };
}
