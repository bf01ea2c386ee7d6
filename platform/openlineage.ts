import { createHash, randomUUID } from 'node:crypto';

/**
 * OpenLineage events (spec 2-0-2) and the facets the mesh emits. There is no official TypeScript client; these are
 * plain objects validated in tests against the JSON Schemas of the spec.
 */
export const PRODUCER = 'https://github.com/marketplace/data-mesh/tree/main/lineage';
const SPEC = 'https://openlineage.io/spec';
export const RUN_EVENT_SCHEMA = `${SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent`;

export type EventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

export interface Facet {
  _producer: string;
  _schemaURL: string;
  [key: string]: unknown;
}

export interface Dataset {
  namespace: string;
  name: string;
  facets?: Record<string, Facet>;
}

export interface InputDataset extends Dataset {
  inputFacets?: Record<string, Facet>;
}

export interface RunEvent {
  eventType: EventType;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets?: Record<string, Facet> };
  job: { namespace: string; name: string; facets?: Record<string, Facet> };
  inputs: InputDataset[];
  outputs: Dataset[];
}

/** A stable UUID (name-based, version 5 layout) for a run known by another id, e.g. a pipeline's run id. */
export function runUuid(id: string): string {
  const h = createHash('sha1').update(id).digest('hex');
  // RFC 4122 version 5 layout: version nibble 5, variant bits 10.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const facet = (path: string, name: string, body: Record<string, unknown>): Facet => ({
  _producer: PRODUCER,
  _schemaURL: `${SPEC}/facets/${path}#/$defs/${name}`,
  ...body,
});

export function runEvent(e: {
  eventType: EventType;
  runId?: string;
  job: RunEvent['job'];
  inputs?: InputDataset[];
  outputs?: Dataset[];
  runFacets?: Record<string, Facet>;
  eventTime?: Date;
}): RunEvent {
  return {
    eventType: e.eventType,
    eventTime: (e.eventTime ?? new Date()).toISOString(),
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA,
    run: { runId: e.runId ?? randomUUID(), ...(e.runFacets ? { facets: e.runFacets } : {}) },
    job: e.job,
    inputs: e.inputs ?? [],
    outputs: e.outputs ?? [],
  };
}

export const schemaFacet = (fields: { name: string; type?: string; description?: string }[]) =>
  facet('1-2-0/SchemaDatasetFacet.json', 'SchemaDatasetFacet', { fields });

export interface InputField {
  namespace: string;
  name: string;
  field: string;
  transformations?: { type: 'DIRECT' | 'INDIRECT'; subtype?: string; description?: string; masking?: boolean }[];
}

/** One input column reaching an output column one way (a column lineage edge), before edges are grouped by input. */
export interface FieldEdge {
  namespace: string;
  name: string;
  field: string;
  type: 'DIRECT' | 'INDIRECT';
  subtype: string;
  masking?: boolean;
}

/** Edges as OpenLineage's input fields: one per input column, with every way it reaches the output. */
export function inputFields(edges: FieldEdge[]): InputField[] {
  const byInput = new Map<string, InputField & { transformations: NonNullable<InputField['transformations']> }>();
  for (const e of edges) {
    const key = JSON.stringify([e.namespace, e.name, e.field]);
    let input = byInput.get(key);
    if (!input)
      byInput.set(key, (input = { namespace: e.namespace, name: e.name, field: e.field, transformations: [] }));
    input.transformations.push({ type: e.type, subtype: e.subtype, ...(e.masking ? { masking: true } : {}) });
  }
  // What the value is computed from comes first: a reader that keeps one transformation keeps that one.
  for (const input of byInput.values())
    input.transformations.sort((a, b) => Number(a.type === 'INDIRECT') - Number(b.type === 'INDIRECT'));
  return [...byInput.values()];
}

/**
 * `fields`: output column → the input columns it is computed from; `dataset`: inputs that shape every row (joins,
 * filters).
 */
export const columnLineageFacet = (fields: Record<string, InputField[]>, dataset: InputField[] = []) =>
  facet('1-2-0/ColumnLineageDatasetFacet.json', 'ColumnLineageDatasetFacet', {
    fields: Object.fromEntries(Object.entries(fields).map(([k, inputFields]) => [k, { inputFields }])),
    ...(dataset.length ? { dataset } : {}),
  });

export const dataQualityAssertionsFacet = (assertions: { assertion: string; success: boolean; column?: string }[]) =>
  facet('1-1-0/DataQualityAssertionsDatasetFacet.json', 'DataQualityAssertionsDatasetFacet', { assertions });

export const ownershipFacet = (owners: { name: string; type?: string }[]) =>
  facet('1-0-1/OwnershipDatasetFacet.json', 'OwnershipDatasetFacet', { owners });
export const jobOwnershipFacet = (owners: { name: string; type?: string }[]) =>
  facet('1-0-1/OwnershipJobFacet.json', 'OwnershipJobFacet', { owners });
export const documentationFacet = (description: string) =>
  facet('1-1-0/DocumentationDatasetFacet.json', 'DocumentationDatasetFacet', { description });
export const jobDocumentationFacet = (description: string) =>
  facet('1-1-0/DocumentationJobFacet.json', 'DocumentationJobFacet', { description });
export const jobTypeFacet = (jobType: string, processingType: 'BATCH' | 'STREAMING' | 'SERVICE' = 'BATCH') =>
  facet('2-0-4/JobTypeJobFacet.json', 'JobTypeJobFacet', { processingType, integration: 'MESH', jobType });
export const sqlFacet = (query: string) => facet('1-1-0/SQLJobFacet.json', 'SQLJobFacet', { query });
export const errorMessageFacet = (message: string, stackTrace?: string) =>
  facet('1-0-1/ErrorMessageRunFacet.json', 'ErrorMessageRunFacet', {
    message,
    programmingLanguage: 'TypeScript',
    ...(stackTrace ? { stackTrace } : {}),
  });
export const parentRunFacet = (parent: { runId: string; namespace: string; name: string }) =>
  facet('1-2-0/ParentRunFacet.json', 'ParentRunFacet', {
    run: { runId: parent.runId },
    job: { namespace: parent.namespace, name: parent.name },
  });
export const datasetVersionFacet = (datasetVersion: string) =>
  facet('1-0-1/DatasetVersionDatasetFacet.json', 'DatasetVersionDatasetFacet', { datasetVersion });

/**
 * How many times an aggregated operation ran in the interval an event covers (a mesh facet; OpenLineage allows custom
 * ones).
 */
export const operationStatsFacet = (stats: {
  count: number;
  firstSeen: string;
  lastSeen: string;
  client: string;
  role: string;
}) => ({
  _producer: PRODUCER,
  _schemaURL: `${PRODUCER}/schemas/OperationStatsRunFacet.json`,
  ...stats,
});
