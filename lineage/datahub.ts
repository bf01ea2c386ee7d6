import type { MeshPlatform } from './platformLineage.js';
import { listDomains } from '../platform/index.js';
import { loadContract } from '../governance/index.js';
import { currentManifest, curatedName, datasetFiles } from '../products/index.js';

/** A DataHub metadata change proposal, in the shape `datahub ingest` reads from a file (aspect as `json`). */
export interface Proposal {
  entityType: 'domain' | 'dataProduct' | 'dataset';
  entityUrn: string;
  changeType: 'UPSERT';
  aspectName: string;
  aspect: { json: Record<string, unknown> };
}

const PLATFORM = 'urn:li:dataPlatform:mesh';
export const datasetUrn = (name: string, env = 'PROD') => `urn:li:dataset:(${PLATFORM},${name},${env})`;
export const fieldUrn = (dataset: string, field: string) => `urn:li:schemaField:(${datasetUrn(dataset)},${field})`;
export const domainUrn = (domain: string) => `urn:li:domain:${domain}`;
export const dataProductUrn = (product: string) => `urn:li:dataProduct:${product}`;

const TYPES: Record<string, string> = {
  VARCHAR: 'StringType',
  BOOLEAN: 'BooleanType',
  DATE: 'DateType',
  TIMESTAMP: 'TimeType',
  'TIMESTAMP WITH TIME ZONE': 'TimeType',
  BIGINT: 'NumberType',
  INTEGER: 'NumberType',
  DOUBLE: 'NumberType',
};
const fieldType = (native: string) => ({
  type: {
    [`com.linkedin.schema.${TYPES[native] ?? (native.startsWith('DECIMAL') ? 'NumberType' : 'StringType')}`]: {},
  },
});

/**
 * What DataHub should know about the mesh: a domain per mesh domain, its data product with its datasets, each
 * dataset's schema (PII tagged), owner, and `upstreamLineage` with column-level `fineGrainedLineages` from the lineage
 * graph, including the PII masking DataHub's own OpenLineage endpoint drops (as the transform operation).
 */
export async function dataHubProposals(platform: MeshPlatform): Promise<Proposal[]> {
  const out: Proposal[] = [];
  const stamp = { time: Date.now(), actor: 'urn:li:corpuser:mesh' };
  const edges = platform.lineage.graph.edges();
  const add = (
    entityType: Proposal['entityType'],
    entityUrn: string,
    aspectName: string,
    json: Record<string, unknown>,
  ) => out.push({ entityType, entityUrn, changeType: 'UPSERT', aspectName, aspect: { json } });
  for (const d of listDomains(platform.config.domainsDir)) {
    const contract = loadContract(d.contractFile, d.name);
    const manifest = await currentManifest(platform, d.name);
    add('domain', domainUrn(d.name), 'domainProperties', {
      name: d.name,
      description: contract.description?.purpose ?? '',
    });
    const owner = `urn:li:corpGroup:${contract.team?.name ?? d.name}`;
    const datasets = Object.values(manifest?.datasets ?? {});
    for (const ds of datasets) {
      const name = curatedName(d.name, ds.name);
      const urn = datasetUrn(name);
      add('dataset', urn, 'datasetProperties', {
        name,
        description: `${ds.name} of the ${d.name} data product`,
        customProperties: {
          contractVersion: contract.version,
          files: String(datasetFiles(ds).length),
          rows: String(ds.rows),
        },
      });
      add('dataset', urn, 'schemaMetadata', {
        schemaName: name,
        platform: PLATFORM,
        version: 0,
        hash: ds.sha256,
        platformSchema: {
          'com.linkedin.schema.OtherSchema': { rawSchema: ds.columns.map((c) => `${c.name} ${c.type}`).join(', ') },
        },
        fields: ds.columns.map((c) => ({
          fieldPath: c.name,
          nativeDataType: c.type,
          type: fieldType(c.type),
          nullable: true,
          ...(c.pii ? { globalTags: { tags: [{ tag: 'urn:li:tag:pii' }, { tag: 'urn:li:tag:masked' }] } } : {}),
        })),
      });
      add('dataset', urn, 'ownership', { owners: [{ owner, type: 'DATAOWNER' }], lastModified: stamp });
      add('dataset', urn, 'domains', { domains: [domainUrn(d.name)] });
      const incoming = edges.filter((e) => e.to.name === name && e.to.field !== '*' && e.from.field !== '*');
      if (incoming.length) {
        const upstreams = [...new Set(incoming.map((e) => e.from.name))];
        add('dataset', urn, 'upstreamLineage', {
          upstreams: upstreams.map((u) => ({ dataset: datasetUrn(u), type: 'TRANSFORMED', auditStamp: stamp })),
          fineGrainedLineages: incoming.map((e) => ({
            upstreamType: 'FIELD_SET',
            upstreams: [fieldUrn(e.from.name, e.from.field)],
            downstreamType: 'FIELD',
            downstreams: [fieldUrn(name, e.to.field)],
            transformOperation: e.masking ? 'MASKED:HMAC-SHA256' : (e.subtype ?? e.type),
            confidenceScore: 1,
          })),
        });
      }
    }
    add('dataProduct', dataProductUrn(contract.dataProduct), 'dataProductProperties', {
      name: contract.dataProduct,
      description: contract.description?.purpose ?? '',
      assets: datasets.map((ds) => ({ destinationUrn: datasetUrn(curatedName(d.name, ds.name)) })),
    });
    add('dataProduct', dataProductUrn(contract.dataProduct), 'domains', { domains: [domainUrn(d.name)] });
  }
  return out;
}

/**
 * Sends proposals to DataHub GMS, one `ingestProposal` each (the Rest.li call the Python emitter makes).
 * `progress.sent` counts what GMS accepted, also when a later proposal fails.
 */
export async function emitToDataHub(
  config: { gmsUrl: string; token?: string },
  proposals: Proposal[],
  progress = { sent: 0 },
): Promise<number> {
  for (const p of proposals) {
    const res = await fetch(`${config.gmsUrl.replace(/\/+$/, '')}/aspects?action=ingestProposal`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'X-RestLi-Protocol-Version': '2.0.0',
        ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
      },
      body: JSON.stringify({
        proposal: {
          entityType: p.entityType,
          entityUrn: p.entityUrn,
          changeType: p.changeType,
          aspectName: p.aspectName,
          aspect: { value: JSON.stringify(p.aspect.json), contentType: 'application/json' },
        },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (!res.ok)
      throw new Error(`DataHub ${config.gmsUrl} refused ${p.aspectName} of ${p.entityUrn}: HTTP ${res.status}`);
    progress.sent++;
  }
  return progress.sent;
}
