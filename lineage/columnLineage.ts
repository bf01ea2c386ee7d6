import {
  ErrorCode,
  isMeshError,
  sqlLineage,
  type DomainInfo,
  type Duck,
  type StatementLineage,
} from '../platform/index.js';
import { loadContract } from '../governance/index.js';
import { loadDeclaredLineage, loadPipeline, pipelineColumnLineage, type DatasetColumnLineage } from '../jobs/index.js';
import { loadDefinitions } from '../feature-subgraph/index.js';

/** The column lineage of the whole mesh's SQL, as the pipelines and feature computation emit it. */
export interface MeshColumnLineage {
  /** `domain.dataset` → each curated column from raw fields of the domain's sources. */
  curated: Map<string, DatasetColumnLineage>;
  /** Feature view name → each column from curated columns (`domain.dataset`). */
  views: Map<string, StatementLineage>;
  /** SQL that could not be followed (and was not declared), and declarations that disagree with the SQL. */
  problems: string[];
}

/**
 * Derives the column lineage of every domain's pipeline and every feature view from their SQL, without running
 * anything: what `mesh contracts validate` checks, and what the lineage events of a run will say.
 */
export async function meshColumnLineage(duck: Duck, domains: DomainInfo[]): Promise<MeshColumnLineage> {
  const out: MeshColumnLineage = { curated: new Map(), views: new Map(), problems: [] };
  for (const domain of domains) {
    const contract = loadContract(domain.contractFile, domain.name);
    const pipeline = loadPipeline(domain, contract);
    const { datasets, problems } = await pipelineColumnLineage(duck, pipeline, {
      declared: loadDeclaredLineage(
        domain,
        pipeline.sources.map((s) => s.name),
      ),
      columns: (name) => contract.schema.find((o) => o.name === name)?.properties.map((p) => p.name) ?? [],
    });
    out.problems.push(...problems);
    for (const [name, lineage] of datasets) out.curated.set(`${domain.name}.${name}`, lineage);
  }
  const tables = Object.fromEntries(
    [...out.curated].map(([name, lineage]) => [name, lineage.columns.map((c) => c.name)]),
  );
  for (const view of (await loadDefinitions(domains)).views) {
    try {
      out.views.set(view.name, await sqlLineage(duck, view.sql, tables));
    } catch (err) {
      if (!isMeshError(err, ErrorCode.LINEAGE_UNDERIVABLE)) throw err;
      out.problems.push(`feature view ${view.name} (${view.domain}): ${err.message}`);
    }
  }
  return out;
}
