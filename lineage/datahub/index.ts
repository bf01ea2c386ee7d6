import type { MeshPlatform } from '../platformLineage.js';
import { readCatalog } from './catalog.js';
import { describeData } from './datasets.js';
import { describeFeatures } from './features.js';
import { describeOperations } from './operations.js';
import { describePipelines } from './pipelines.js';
import { Proposals, type Proposal } from './proposals.js';

export { emitToDataHub } from './emit.js';
export type { Proposal } from './proposals.js';

/**
 * What DataHub should know about the mesh, as metadata change proposals: the platform, the PII glossary and tags,
 * owners, domains and data products, every dataset lineage names (raw, curated, feature and online tables, API
 * responses) with schema, owners, subtype and column lineage, each domain's pipeline as the Airflow DAG's dataFlow with
 * a dataJob per stage and per dataset, the feature store and models as ML entities, and the gateway's operations with
 * the datasets and fields they read. The same inputs always give the same proposals.
 */
export async function dataHubProposals(
  platform: MeshPlatform,
  options: { minOperationExecutions?: number } = {},
): Promise<Proposal[]> {
  const catalog = await readCatalog(platform);
  const proposals = new Proposals();
  describeData(catalog, proposals);
  describePipelines(catalog, proposals);
  describeFeatures(catalog, proposals);
  describeOperations(catalog, await platform.lineage.graph.edges(), proposals, options.minOperationExecutions ?? 10);
  return proposals.list();
}
