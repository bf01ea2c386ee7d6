import { curatedName, featureTableName } from '../../products/index.js';
import { tableId } from '../../feature-subgraph/index.js';
import type { Catalog, DomainFacts, ViewFacts } from './catalog.js';
import type { Proposals } from './proposals.js';
import { fineGrainedLineages, ownership, type FieldEdge } from './aspects.js';
import { dataJobUrn, datasetUrn, domainUrn, fieldUrn, pipelineFlowUrn } from './urns.js';

/** A run's outcome as DataHub's job status. */
const status = (run?: { status: string }) =>
  run ? (run.status === 'succeeded' ? 'COMPLETED' : run.status === 'failed' ? 'FAILED' : 'UNKNOWN') : 'UNKNOWN';

/**
 * Each domain's pipeline as a dataFlow (the generated Airflow DAG) with a dataJob per source stage and per curated
 * dataset, and the feature views that read it as compute and materialization jobs: inputs, outputs, the fields they
 * read and write, fine-grained lineage, and the latest run's outcome.
 */
export function describePipelines(c: Catalog, p: Proposals): void {
  for (const d of c.domains) describeFlow(c, p, d);
  for (const versions of c.views.values()) {
    const current = versions.at(-1)!;
    const d = c.domains.find((x) => x.info.name === current.version.domain);
    if (d) describeFeatureJobs(c, p, d, versions);
  }
}

function describeFlow(c: Catalog, p: Proposals, d: DomainFacts): void {
  const flow = pipelineFlowUrn(d.info.name);
  const dag = `mesh_${d.info.name}`;
  const airflow = c.platform.config.lineage.airflowUrl;
  const schedule = d.contract.customProperties?.find((x) => x.property === 'schedule')?.value;
  p.add('dataFlow', flow, 'dataFlowInfo', {
    name: dag,
    description: `${d.info.name} data product: pipeline, quality gate, feature views, materialization`,
    project: 'mesh',
    env: 'PROD',
    ...(airflow ? { externalUrl: `${airflow}/dags/${dag}/grid` } : {}),
    customProperties: {
      domain: d.info.name,
      ...(typeof schedule === 'string' ? { schedule } : {}),
      generatedBy: 'mesh schedule airflow',
    },
  });
  p.add('dataFlow', flow, 'ownership', ownership(d.owners, c.stamp));
  p.add('dataFlow', flow, 'domains', { domains: [domainUrn(d.info.name)] });
  const job = (id: string, info: Record<string, unknown>, io: Record<string, unknown>) => {
    const urn = dataJobUrn(flow, id);
    p.add('dataJob', urn, 'dataJobInfo', {
      ...info,
      flowUrn: flow,
      env: 'PROD',
      ...(airflow ? { externalUrl: `${airflow}/dags/${dag}/grid?task_id=pipeline` } : {}),
    });
    p.add('dataJob', urn, 'dataJobInputOutput', io);
    p.add('dataJob', urn, 'ownership', ownership(d.owners, c.stamp));
    p.add('dataJob', urn, 'domains', { domains: [domainUrn(d.info.name)] });
    return urn;
  };
  const run = d.lastRun;
  const runProperties = run ? { lastRunId: run.runId, lastRunAt: run.finishedAt || run.startedAt } : {};
  const stages = new Map<string, string>();
  for (const source of d.pipeline.sources) {
    const raw = d.raw.get(source.name)!;
    // Every raw field any curated column or row of the domain reads from this source went through its stage.
    const read = [...d.lineage.values()]
      .flatMap((l) => [...l.columns.flatMap((x) => x.edges), ...l.dataset])
      .filter((e) => e.source === source.name && e.field !== '*');
    stages.set(
      source.name,
      job(
        `stage_${source.name}`,
        {
          name: `stage ${source.name}`,
          description:
            `Types and checks the ${source.name} records (${source.format}); a record with a reject reason is ` +
            `quarantined with it, and of records with the same key (${source.key.join(', ')}) the first is kept.`,
          type: { string: 'SQL' },
          status: status(run),
          customProperties: { source: source.name, prefix: source.prefix, ...runProperties },
        },
        {
          inputDatasets: [datasetUrn(raw)],
          outputDatasets: [],
          inputDatasetFields: [...new Set(read.map((e) => fieldUrn(raw, e.field)))].sort(),
        },
      ),
    );
  }
  for (const dataset of d.pipeline.datasets) {
    const lineage = d.lineage.get(dataset.name);
    const name = curatedName(d.info.name, dataset.name);
    const edge = (e: { source: string; field: string; type: string; subtype: string }): FieldEdge =>
      ({ dataset: d.raw.get(e.source)!, field: e.field, type: e.type, subtype: e.subtype }) as FieldEdge;
    const columns = lineage?.columns.map((x) => ({ name: x.name, edges: x.edges.map(edge) })) ?? [];
    const rows = lineage?.dataset.map(edge) ?? [];
    const inputs = [...new Set([...columns.flatMap((x) => x.edges), ...rows].map((e) => e.dataset))].sort();
    job(
      `curate_${dataset.name}`,
      {
        name: `curate ${dataset.name}`,
        description: `Builds the curated ${dataset.name} dataset from ${dataset.reads.join(', ')}`,
        type: { string: 'SQL' },
        status: status(run),
        customProperties: { dataset: dataset.name, ...runProperties },
      },
      {
        inputDatasets: inputs.map(datasetUrn),
        outputDatasets: [datasetUrn(name)],
        inputDatajobs: dataset.reads.map((s) => stages.get(s)!).filter(Boolean),
        inputDatasetFields: [
          ...new Set([...columns.flatMap((x) => x.edges), ...rows].map((e) => fieldUrn(e.dataset, e.field))),
        ].sort(),
        outputDatasetFields: columns.map((x) => fieldUrn(name, x.name)),
        fineGrainedLineages: fineGrainedLineages(name, columns, rows),
      },
    );
  }
}

/** A view's compute job (curated → its offline tables) and materialization job (offline → online tables). */
function describeFeatureJobs(c: Catalog, p: Proposals, d: DomainFacts, versions: ViewFacts[]): void {
  const flow = pipelineFlowUrn(d.info.name);
  const airflow = c.platform.config.lineage.airflowUrl;
  const dag = `mesh_${d.info.name}`;
  const view = versions.at(-1)!.version;
  const computed = versions.filter((v) => v.computedAt);
  const tables = computed.map((v) => featureTableName(tableId(v.version)));
  const add = (id: string, task: string, info: Record<string, unknown>, io: Record<string, unknown>) => {
    const urn = dataJobUrn(flow, id);
    p.add('dataJob', urn, 'dataJobInfo', {
      ...info,
      flowUrn: flow,
      env: 'PROD',
      ...(airflow ? { externalUrl: `${airflow}/dags/${dag}/grid?task_id=${task}` } : {}),
    });
    p.add('dataJob', urn, 'dataJobInputOutput', io);
    p.add('dataJob', urn, 'ownership', ownership(d.owners, c.stamp));
    p.add('dataJob', urn, 'domains', { domains: [domainUrn(d.info.name)] });
  };
  const edges = computed.flatMap((v) =>
    (v.lineage?.columns ?? []).flatMap((col) =>
      col.edges.map((e) => ({ table: featureTableName(tableId(v.version)), col: col.name, e })),
    ),
  );
  const read = [
    ...new Set(
      computed
        .flatMap((v) => [...(v.lineage?.columns.flatMap((x) => x.edges) ?? []), ...(v.lineage?.dataset ?? [])])
        .map((e) => e.table),
    ),
  ].sort();
  add(
    `compute_${view.name}`,
    'features',
    {
      name: `compute ${view.name}`,
      description: `Computes the ${view.name} feature view from curated data: one row per entity and snapshot.`,
      type: { string: 'SQL' },
      status: computed.length ? 'COMPLETED' : 'UNKNOWN',
      customProperties: { view: view.name, versions: versions.map((v) => String(v.version.version)).join(',') },
    },
    {
      inputDatasets: read.map(datasetUrn),
      outputDatasets: tables.map(datasetUrn),
      inputDatasetFields: [...new Set(edges.map(({ e }) => fieldUrn(e.table, e.column)))].sort(),
      outputDatasetFields: [...new Set(edges.map(({ table, col }) => fieldUrn(table, col)))].sort(),
      fineGrainedLineages: computed.flatMap((v) =>
        fineGrainedLineages(
          featureTableName(tableId(v.version)),
          (v.lineage?.columns ?? []).map((col) => ({
            name: col.name,
            edges: col.edges.map((e) => ({ dataset: e.table, field: e.column, type: e.type, subtype: e.subtype })),
          })),
          (v.lineage?.dataset ?? []).map((e) => ({
            dataset: e.table,
            field: e.column,
            type: e.type,
            subtype: e.subtype,
          })),
        ),
      ),
    },
  );
  const online = onlineTables(c, versions);
  add(
    `materialize_${view.name}`,
    'materialize',
    {
      name: `materialize ${view.name}`,
      description: `Writes the latest value of each ${view.name} feature per entity into the online store.`,
      type: { string: 'COMMAND' },
      status: online.length ? 'COMPLETED' : 'UNKNOWN',
      customProperties: { view: view.name },
    },
    {
      inputDatasets: tables.map(datasetUrn),
      outputDatasets: [...new Set(online.map((o) => o.table))].map(datasetUrn),
    },
  );
}

/** The online tables a view's versions were materialized into, per store. */
export function onlineTables(c: Catalog, versions: ViewFacts[]): { table: string; store: string; watermark: string }[] {
  const out: { table: string; store: string; watermark: string }[] = [];
  for (const [store, tables] of Object.entries(c.registry.materialization))
    for (const v of versions) {
      const state = tables[tableId(v.version)];
      if (state) out.push({ table: tableId(v.version), store, watermark: state.watermark });
    }
  return out;
}
