import {
  columnLineageFacet,
  dataQualityAssertionsFacet,
  datasetVersionFacet,
  documentationFacet,
  errorMessageFacet,
  inputFields,
  jobDocumentationFacet,
  jobOwnershipFacet,
  jobTypeFacet,
  ownershipFacet,
  parentRunFacet,
  runEvent,
  schemaFacet,
  type FieldEdge,
  type RunEvent,
} from '../../platform/index.js';
import { curatedName, rawName, type RunRecord } from '../../products/index.js';
import type { SourceSpec } from './spec.js';
import type { DatasetColumnLineage, RawFieldEdge } from './columnLineage.js';

/** OpenLineage events of a pipeline run, sent through the platform's lineage port. */

export interface PipelineLineage {
  namespace: string;
  storeNamespace: string;
  domain: string;
  owner?: string;
  description?: string;
  sources: Pick<SourceSpec, 'name' | 'prefix' | 'columns'>[];
}

export function pipelineStart(l: PipelineLineage, runId: string, at: Date): RunEvent {
  return runEvent({
    eventType: 'START',
    runId,
    eventTime: at,
    job: pipelineJob(l),
    inputs: l.sources.map((s) => ({ namespace: l.storeNamespace, name: rawName(l.domain, s.prefix) })),
  });
}

/**
 * The end of a pipeline run: raw sources in, curated datasets out with their schema and column lineage (derived from
 * the pipeline's SQL, `lineage`: a PII column's DIRECT edges are masked, as it is published tokenized), and a child
 * run of the quality checks whose inputs carry the assertions.
 */
export function pipelineEnd(
  l: PipelineLineage,
  record: RunRecord,
  lineage?: Map<string, DatasetColumnLineage>,
): RunEvent[] {
  const job = pipelineJob(l);
  const inputs = l.sources.map((s) => ({ namespace: l.storeNamespace, name: rawName(l.domain, s.prefix) }));
  if (record.status !== 'succeeded') {
    return [
      runEvent({
        eventType: 'FAIL',
        runId: record.runId,
        job,
        inputs,
        runFacets: { errorMessage: errorMessageFacet(record.error?.message ?? 'failed') },
      }),
    ];
  }
  const raw = new Map(l.sources.map((s) => [s.name, rawName(l.domain, s.prefix)]));
  const edges = (list: RawFieldEdge[], masked = false): FieldEdge[] =>
    list.map((e) => ({
      namespace: l.storeNamespace,
      name: raw.get(e.source)!,
      field: e.field,
      type: e.type,
      subtype: e.subtype,
      ...(masked && e.type === 'DIRECT' ? { masking: true } : {}),
    }));
  const outputs = record.datasets.map((d) => {
    const derived = lineage?.get(d.name);
    const pii = new Set(d.columns.filter((c) => c.pii).map((c) => c.name));
    return {
      namespace: l.storeNamespace,
      name: curatedName(l.domain, d.name),
      facets: {
        schema: schemaFacet(d.columns.map((c) => ({ name: c.name, type: c.type }))),
        ...(derived
          ? {
              columnLineage: columnLineageFacet(
                Object.fromEntries(derived.columns.map((c) => [c.name, inputFields(edges(c.edges, pii.has(c.name)))])),
                inputFields(edges(derived.dataset)),
              ),
            }
          : {}),
        version: datasetVersionFacet(d.sha256.slice(0, 16)),
        ...(l.owner ? { ownership: ownershipFacet([{ name: `team:${l.owner}`, type: 'OWNER' }]) } : {}),
        ...(l.description ? { documentation: documentationFacet(l.description) } : {}),
      },
    };
  });
  const complete = runEvent({
    eventType: 'COMPLETE',
    runId: record.runId,
    job,
    inputs,
    outputs,
    eventTime: new Date(record.finishedAt || Date.now()),
  });
  const quality = runEvent({
    eventType: 'COMPLETE',
    job: { namespace: l.namespace, name: `quality.${l.domain}`, facets: { jobType: jobTypeFacet('QUALITY_CHECK') } },
    runFacets: { parent: parentRunFacet({ runId: record.runId, namespace: l.namespace, name: job.name }) },
    inputs: record.datasets.map((d) => ({
      namespace: l.storeNamespace,
      name: curatedName(l.domain, d.name),
      inputFacets: {
        dataQualityAssertions: dataQualityAssertionsFacet(
          record.quality
            .filter((q) => q.dataset === d.name)
            .map((q) => ({ assertion: q.rule, success: q.passed, ...(q.column ? { column: q.column } : {}) })),
        ),
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
