import type { RunRecord } from '../jobs/pipeline/types.js';
import type { SourceSpec } from '../jobs/pipeline/spec.js';
import {
  columnLineageFacet,
  dataQualityAssertionsFacet,
  datasetVersionFacet,
  documentationFacet,
  errorMessageFacet,
  jobDocumentationFacet,
  jobOwnershipFacet,
  jobTypeFacet,
  ownershipFacet,
  parentRunFacet,
  runEvent,
  schemaFacet,
  type InputField,
  type RunEvent,
} from './openlineage.js';

/** Dataset names: `<domain>.<dataset>` for curated data, `<domain>/raw/<prefix>` for sources, in the store's namespace. */
export const curatedName = (domain: string, dataset: string) => `${domain}.${dataset}`;
export const rawName = (domain: string, prefix: string) => `${domain}/${prefix.replace(/\/+$/, '')}`;
export const featureTableName = (table: string) => `features.${table}`;

export interface PipelineLineage {
  namespace: string;
  storeNamespace: string;
  domain: string;
  owner?: string;
  description?: string;
  sources: Pick<SourceSpec, 'name' | 'prefix' | 'columns'>[];
}

export function pipelineStart(l: PipelineLineage, runId: string, at: Date): RunEvent {
  return runEvent({ eventType: 'START', runId, eventTime: at, job: pipelineJob(l), inputs: l.sources.map((s) => ({ namespace: l.storeNamespace, name: rawName(l.domain, s.prefix) })) });
}

/**
 * The end of a pipeline run: raw sources in, curated datasets out with their schema and column lineage (a curated column
 * comes from the source columns of the same name; masked PII says so), and a child run of the quality checks whose
 * inputs carry the assertions.
 */
export function pipelineEnd(l: PipelineLineage, record: RunRecord): RunEvent[] {
  const job = pipelineJob(l);
  const inputs = l.sources.map((s) => ({ namespace: l.storeNamespace, name: rawName(l.domain, s.prefix) }));
  if (record.status !== 'succeeded') {
    return [runEvent({ eventType: 'FAIL', runId: record.runId, job, inputs, runFacets: { errorMessage: errorMessageFacet(record.error?.message ?? 'failed') } })];
  }
  const outputs = record.datasets.map((d) => {
    const fields: Record<string, InputField[]> = {};
    for (const c of d.columns) {
      const from = l.sources.filter((s) => (s.columns ?? []).map((x) => x.replace(/\./g, '_')).includes(c.name));
      fields[c.name] = from.map((s) => ({
        namespace: l.storeNamespace,
        name: rawName(l.domain, s.prefix),
        field: c.name,
        transformations: [{ type: 'DIRECT' as const, subtype: c.pii ? 'TRANSFORMATION' : 'IDENTITY', ...(c.pii ? { masking: true, description: 'HMAC-SHA256 token (tok_…)' } : {}) }],
      }));
    }
    return {
      namespace: l.storeNamespace,
      name: curatedName(l.domain, d.name),
      facets: {
        schema: schemaFacet(d.columns.map((c) => ({ name: c.name, type: c.type }))),
        columnLineage: columnLineageFacet(
          fields,
          inputs.map((i) => ({ ...i, field: '*', transformations: [{ type: 'INDIRECT' as const, subtype: 'FILTER', description: 'quarantine, de-duplication' }] })),
        ),
        version: datasetVersionFacet(d.sha256.slice(0, 16)),
        ...(l.owner ? { ownership: ownershipFacet([{ name: `team:${l.owner}`, type: 'OWNER' }]) } : {}),
        ...(l.description ? { documentation: documentationFacet(l.description) } : {}),
      },
    };
  });
  const complete = runEvent({ eventType: 'COMPLETE', runId: record.runId, job, inputs, outputs, eventTime: new Date(record.finishedAt || Date.now()) });
  const quality = runEvent({
    eventType: 'COMPLETE',
    job: { namespace: l.namespace, name: `quality.${l.domain}`, facets: { jobType: jobTypeFacet('QUALITY_CHECK') } },
    runFacets: { parent: parentRunFacet({ runId: record.runId, namespace: l.namespace, name: job.name }) },
    inputs: record.datasets.map((d) => ({
      namespace: l.storeNamespace,
      name: curatedName(l.domain, d.name),
      inputFacets: {
        dataQualityAssertions: dataQualityAssertionsFacet(record.quality.filter((q) => q.dataset === d.name).map((q) => ({ assertion: q.rule, success: q.passed, ...(q.column ? { column: q.column } : {}) }))),
      },
    })),
  });
  return [complete, quality];
}

function pipelineJob(l: PipelineLineage): RunEvent['job'] {
  return {
    namespace: l.namespace,
    name: `pipeline.${l.domain}`,
    facets: {
      jobType: jobTypeFacet('PIPELINE'),
      documentation: jobDocumentationFacet(`raw → curated pipeline of the ${l.domain} domain`),
      ...(l.owner ? { ownership: jobOwnershipFacet([{ name: `team:${l.owner}`, type: 'OWNER' }]) } : {}),
    },
  };
}

/** Curated columns a feature view's SQL reads: the datasets it names, and their columns that appear in it. */
export function featureInputs(sql: string, storeNamespace: string, datasets: { domain: string; dataset: string; columns: string[] }[]): InputField[] {
  const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
  return datasets
    .filter((d) => new RegExp(`\\b${d.domain}\\.${d.dataset}\\b`).test(sql))
    .flatMap((d) => d.columns.filter((c) => words.has(c)).map((c) => ({ namespace: storeNamespace, name: curatedName(d.domain, d.dataset), field: c, transformations: [{ type: 'INDIRECT' as const, subtype: 'AGGREGATION' }] })));
}

export function featureComputeEvent(e: { namespace: string; storeNamespace: string; table: string; domain: string; owner: string; columns: string[]; inputs: InputField[] }): RunEvent {
  const byDataset = [...new Set(e.inputs.map((i) => i.name))];
  return runEvent({
    eventType: 'COMPLETE',
    job: { namespace: e.namespace, name: `features.compute.${e.table}`, facets: { jobType: jobTypeFacet('FEATURE_COMPUTATION'), ownership: jobOwnershipFacet([{ name: e.owner, type: 'OWNER' }]) } },
    inputs: byDataset.map((name) => ({ namespace: e.storeNamespace, name })),
    outputs: [
      {
        namespace: e.storeNamespace,
        name: featureTableName(e.table),
        facets: { schema: schemaFacet(e.columns.map((name) => ({ name }))), columnLineage: columnLineageFacet(Object.fromEntries(e.columns.map((c) => [c, e.inputs]))) },
      },
    ],
  });
}

export function materializeEvent(e: { namespace: string; storeNamespace: string; onlineNamespace: string; table: string; features: string[] }): RunEvent {
  const source = { namespace: e.storeNamespace, name: featureTableName(e.table) };
  return runEvent({
    eventType: 'COMPLETE',
    job: { namespace: e.namespace, name: `features.materialize.${e.table}`, facets: { jobType: jobTypeFacet('MATERIALIZATION') } },
    inputs: [source],
    outputs: [
      {
        namespace: e.onlineNamespace,
        name: e.table,
        facets: { columnLineage: columnLineageFacet(Object.fromEntries(e.features.map((f) => [f, [{ ...source, field: f, transformations: [{ type: 'DIRECT' as const, subtype: 'IDENTITY' }] }]]))) },
      },
    ],
  });
}
