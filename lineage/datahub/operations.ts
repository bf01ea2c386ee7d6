import { parse } from 'graphql';
import { listDomains } from '../../platform/index.js';
import { composeSupergraph, loadSupergraphConfig } from '../../governance/index.js';
import { curatedName, loadEndpoints } from '../../products/index.js';
import { loadFieldLineage } from '../fieldLineage.js';
import { responseFields } from '../operationLineage.js';
import type { LineageEdge } from '../graph.js';
import type { Catalog } from './catalog.js';
import type { Proposals } from './proposals.js';
import { fineGrainedLineages, schemaField, schemaMetadata, upstreamLineage, type FieldEdge } from './aspects.js';
import { dataJobUrn, datasetUrn, domainUrn, fieldUrn, meshFlowUrn } from './urns.js';

/** What one gateway operation reads and answers, from its document, its recorded traffic, or both. */
interface Operation {
  name: string;
  rest?: { path: string; domain: string; major: number; summary: string; document: string };
  /** Curated columns read, as `dataset` + `field`. */
  reads: Map<string, { dataset: string; field: string }>;
  /** Recorded: executions, clients and roles, and each response dataset's edges. */
  recorded?: { executions: number; clients: Set<string>; roles: Set<string>; outputs: Map<string, LineageEdge[]> };
}

/**
 * The gateway's operations as DataHub dataJobs in one `gateway` flow, each naming its subjects: every persisted REST
 * endpoint (read from its document and the subgraphs' field lineage, traffic or not), and every GraphQL operation
 * recorded at least `minExecutions` times (from the lineage graph), with the response it answers as a dataset and
 * the field-level lineage of it, masking included.
 */
export function describeOperations(c: Catalog, traffic: LineageEdge[], p: Proposals, minExecutions: number): void {
  const operations = new Map<string, Operation>();
  const get = (name: string) => {
    let op = operations.get(name);
    if (!op) operations.set(name, (op = { name, reads: new Map() }));
    return op;
  };
  const config = c.platform.config;
  const sources = loadSupergraphConfig(config.gateway.config);
  const schema = composeSupergraph(sources).apiSchema();
  const fields = loadFieldLineage(sources);
  const { endpoints } = loadEndpoints(listDomains(config.domainsDir), {
    deprecationDays: c.policy.api.deprecationDays,
  });
  for (const e of endpoints) {
    const op = get(e.name);
    op.rest = { path: e.path, domain: e.domain, major: e.major, summary: e.summary, document: e.document };
    for (const f of responseFields(schema, parse(e.document), e.name))
      for (const s of fields.get(f.coordinate) ?? [])
        for (const col of s.columns) {
          const dataset = curatedName(col.domain, col.dataset);
          op.reads.set(`${dataset}.${col.column}`, { dataset, field: col.column });
        }
  }
  // Recorded traffic: the lineage graph's gateway edges, counted per client and role.
  const byJob = new Map<string, LineageEdge[]>();
  for (const e of traffic) if (e.job.startsWith('gateway.')) byJob.set(e.job, [...(byJob.get(e.job) ?? []), e]);
  for (const [job, edges] of byJob) {
    const perCaller = new Map<string, number>();
    for (const e of edges) {
      const caller = `${e.client}\u0000${e.role}`;
      perCaller.set(caller, Math.max(perCaller.get(caller) ?? 0, e.count));
    }
    const executions = [...perCaller.values()].reduce((a, b) => a + b, 0);
    const name = job.slice('gateway.'.length);
    if (executions < minExecutions && !operations.has(name)) continue;
    const op = get(name);
    const outputs = new Map<string, LineageEdge[]>();
    for (const e of edges) {
      outputs.set(e.to.name, [...(outputs.get(e.to.name) ?? []), e]);
      if (e.from.field !== '*')
        op.reads.set(`${e.from.name}.${e.from.field}`, { dataset: e.from.name, field: e.from.field });
    }
    op.recorded = {
      executions,
      clients: new Set(edges.map((e) => e.client ?? '').filter(Boolean)),
      roles: new Set(edges.map((e) => e.role ?? '').filter(Boolean)),
      outputs,
    };
  }
  if (operations.size === 0) return;

  const flow = meshFlowUrn('gateway');
  p.add('dataFlow', flow, 'dataFlowInfo', {
    name: 'gateway',
    description: 'The governed gateway: GraphQL operations and the REST endpoints domains publish',
    project: 'mesh',
    env: 'PROD',
  });
  for (const op of [...operations.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const urn = dataJobUrn(flow, op.name);
    const outputs = [...(op.recorded?.outputs ?? new Map<string, LineageEdge[]>())];
    for (const [name, edges] of outputs) describeResponse(c, p, name, edges);
    p.add('dataJob', urn, 'dataJobInfo', {
      name: op.rest ? `GET ${op.rest.path}` : op.name,
      description: op.rest?.summary ?? `GraphQL operation ${op.name}`,
      type: { string: op.rest ? 'REST_ENDPOINT' : 'GRAPHQL_OPERATION' },
      flowUrn: flow,
      env: 'PROD',
      status: 'COMPLETED',
      customProperties: {
        operation: op.name,
        ...(op.rest ? { path: op.rest.path, major: String(op.rest.major), document: op.rest.document } : {}),
        ...(op.recorded
          ? {
              executions: String(op.recorded.executions),
              clients: [...op.recorded.clients].sort().join(','),
              roles: [...op.recorded.roles].sort().join(','),
            }
          : {}),
      },
    });
    const reads = [...op.reads.values()].filter((r) => r.field !== '*');
    p.add('dataJob', urn, 'dataJobInputOutput', {
      inputDatasets: [...new Set(reads.map((r) => datasetUrn(r.dataset)))].sort(),
      outputDatasets: outputs.map(([name]) => datasetUrn(name)),
      inputDatasetFields: reads.map((r) => fieldUrn(r.dataset, r.field)).sort(),
      outputDatasetFields: outputs.flatMap(([name, edges]) =>
        [...new Set(edges.filter((e) => e.to.field !== '*').map((e) => e.to.field))].map((f) => fieldUrn(name, f)),
      ),
      fineGrainedLineages: outputs.flatMap(([name, edges]) => fineGrainedLineages(name, ...responseEdges(edges))),
    });
    if (op.rest) p.add('dataJob', urn, 'domains', { domains: [domainUrn(op.rest.domain)] });
  }
}

/** A response's column edges as DataHub draws them: per response field, and the joins that shape every one. */
function responseEdges(edges: LineageEdge[]): [{ name: string; edges: FieldEdge[] }[], FieldEdge[]] {
  const byField = new Map<string, FieldEdge[]>();
  const rows: FieldEdge[] = [];
  for (const e of edges) {
    const edge: FieldEdge = {
      dataset: e.from.name,
      field: e.from.field,
      type: e.type === 'INDIRECT' ? 'INDIRECT' : 'DIRECT',
      subtype: e.subtype ?? 'IDENTITY',
      masking: e.masking,
    };
    if (e.from.field === '*') continue;
    if (e.to.field === '*') rows.push(edge);
    else byField.set(e.to.field, [...(byField.get(e.to.field) ?? []), edge]);
  }
  const dedupe = (list: FieldEdge[]) => [...new Map(list.map((x) => [JSON.stringify(x), x])).values()];
  return [[...byField].map(([name, list]) => ({ name, edges: dedupe(list) })), dedupe(rows)];
}

/** The answer an operation gives, as the dataset its lineage names: its response paths and where they come from. */
function describeResponse(c: Catalog, p: Proposals, name: string, edges: LineageEdge[]): void {
  const urn = datasetUrn(name);
  const [columns, rows] = responseEdges(edges);
  const paths = columns.map((x) => x.name).sort();
  p.add('dataset', urn, 'datasetProperties', {
    name,
    qualifiedName: name,
    description: `The response of the gateway operation ${name.split('.')[1]}, one field per response path`,
    customProperties: { layer: 'api' },
  });
  p.add(
    'dataset',
    urn,
    'schemaMetadata',
    schemaMetadata(
      name,
      name.split('.').at(-1)!,
      paths.map((f) => schemaField(f, 'JSON', { stamp: c.stamp })),
      paths.join(', '),
    ),
  );
  p.add('dataset', urn, 'subTypes', { typeNames: ['API Response'] });
  p.add('dataset', urn, 'upstreamLineage', upstreamLineage(name, columns, rows, c.stamp));
}
