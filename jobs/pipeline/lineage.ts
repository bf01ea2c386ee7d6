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
} from '../../platform/index.js';
import { curatedName, rawName, type RunRecord } from '../../products/index.js';
import type { SourceSpec } from './spec.js';

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
 * The end of a pipeline run: raw sources in, curated datasets out with their schema and column lineage (a curated
 * column comes from the source columns of the same name; masked PII says so), and a child run of the quality checks
 * whose inputs carry the assertions.
 */
export function pipelineEnd(l: PipelineLineage, record: RunRecord): RunEvent[] {
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
  const outputs = record.datasets.map((d) => {
    const fields: Record<string, InputField[]> = {};
    for (const c of d.columns) {
      const from = l.sources.filter((s) => (s.columns ?? []).map((x) => x.replace(/\./g, '_')).includes(c.name));
      fields[c.name] = from.map((s) => ({
        namespace: l.storeNamespace,
        name: rawName(l.domain, s.prefix),
        field: c.name,
        transformations: [
          {
            type: 'DIRECT' as const,
            subtype: c.pii ? 'TRANSFORMATION' : 'IDENTITY',
            ...(c.pii ? { masking: true, description: 'HMAC-SHA256 token (tok_…)' } : {}),
          },
        ],
      }));
    }
    return {
      namespace: l.storeNamespace,
      name: curatedName(l.domain, d.name),
      facets: {
        schema: schemaFacet(d.columns.map((c) => ({ name: c.name, type: c.type }))),
        columnLineage: columnLineageFacet(
          fields,
          inputs.map((i) => ({
            ...i,
            field: '*',
            transformations: [
              { type: 'INDIRECT' as const, subtype: 'FILTER', description: 'quarantine, de-duplication' },
            ],
          })),
        ),
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
