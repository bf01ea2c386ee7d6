import {
  Duck,
  ErrorCode,
  isMeshError,
  listDomains,
  sqlLineage,
  type DomainInfo,
  type StatementLineage,
} from '../../platform/index.js';
import { loadContract, loadPolicy, type DataContract, type GovernancePolicy } from '../../governance/index.js';
import {
  currentManifest,
  curatedName,
  rawName,
  recentRuns,
  type CuratedManifest,
  type RunRecord,
} from '../../products/index.js';
import { loadPipeline, type DatasetColumnLineage, type PipelineSpec } from '../../jobs/index.js';
import {
  loadModel,
  loadRegistry,
  offlineManifest,
  tableId,
  type Registry,
  type StoredModel,
  type ViewVersion,
} from '../../feature-subgraph/index.js';
import type { MeshPlatform } from '../platformLineage.js';
import { meshColumnLineage } from '../columnLineage.js';
import { SYSTEM_ACTOR } from './urns.js';

/** Who owns a domain's assets, in DataHub's current ownership types. */
export interface Owner {
  owner: string;
  type: 'TECHNICAL_OWNER' | 'BUSINESS_OWNER';
}

/** One domain as the catalog describes it. */
export interface DomainFacts {
  info: DomainInfo;
  contract: DataContract;
  pipeline: PipelineSpec;
  manifest?: CuratedManifest;
  lastRun?: RunRecord;
  /** The team (a group, technical owner) and its members: the contract's Owner as business owner. */
  owners: Owner[];
  /** Raw dataset name of each source. */
  raw: Map<string, string>;
  /** Each curated dataset's column lineage, down to raw fields. */
  lineage: Map<string, DatasetColumnLineage>;
}

/** A feature view version, with its offline table and the lineage of its SQL. */
export interface ViewFacts {
  version: ViewVersion;
  /** Set when the offline table was computed. */
  computedAt?: string;
  lineage?: StatementLineage;
}

/** Everything the proposals say, read once: contracts, manifests, derived lineage, the feature registry, models. */
export interface Catalog {
  platform: MeshPlatform;
  /** A stamp that only changes when the data does, so emitting twice proposes the same. */
  stamp: { time: number; actor: string };
  policy: GovernancePolicy;
  domains: DomainFacts[];
  registry: Registry;
  /** Every version of every view, by view name, oldest first. */
  views: Map<string, ViewFacts[]>;
  models: StoredModel[];
}

export async function readCatalog(platform: MeshPlatform): Promise<Catalog> {
  const infos = listDomains(platform.config.domainsDir);
  const duck = await Duck.open();
  try {
    const lineage = await meshColumnLineage(duck, infos);
    for (const problem of lineage.problems) platform.log.warn(`DataHub: column lineage: ${problem}`);
    const domains: DomainFacts[] = [];
    for (const info of infos) {
      const contract = loadContract(info.contractFile, info.name);
      const pipeline = loadPipeline(info, contract);
      const team = contract.team?.name ?? `${info.name}-data`;
      domains.push({
        info,
        contract,
        pipeline,
        manifest: await currentManifest(platform, info.name),
        lastRun: (await recentRuns(platform, info.name, 1))[0],
        owners: [
          { owner: `urn:li:corpGroup:${team}`, type: 'TECHNICAL_OWNER' },
          ...(contract.team?.members ?? []).map((m) => ({
            owner: `urn:li:corpuser:${m.username}`,
            type: m.role === 'Owner' ? ('BUSINESS_OWNER' as const) : ('TECHNICAL_OWNER' as const),
          })),
        ],
        raw: new Map(pipeline.sources.map((s) => [s.name, rawName(info.name, s.prefix)])),
        lineage: new Map(
          pipeline.datasets
            .filter((d) => lineage.curated.has(curatedName(info.name, d.name)))
            .map((d) => [d.name, lineage.curated.get(curatedName(info.name, d.name))!]),
        ),
      });
    }
    const registry = await loadRegistry(platform.store);
    const tables = Object.fromEntries([...lineage.curated].map(([name, l]) => [name, l.columns.map((c) => c.name)]));
    const views = new Map<string, ViewFacts[]>();
    for (const [name, versions] of Object.entries(registry.views)) {
      const facts: ViewFacts[] = [];
      for (const version of versions) {
        const manifest = await offlineManifest(platform.store, version);
        // Each version's own SQL, as the registry keeps it: an older version read other columns.
        const derived = await sqlLineage(duck, version.sql, tables).catch((err: unknown) => {
          if (!isMeshError(err, ErrorCode.LINEAGE_UNDERIVABLE)) throw err;
          platform.log.warn(`DataHub: no column lineage for ${tableId(version)}: ${err.message}`);
          return undefined;
        });
        facts.push({ version, computedAt: manifest?.computedAt, lineage: derived });
      }
      views.set(name, facts);
    }
    const models: StoredModel[] = [];
    const latest = await loadModel(platform.store, 'repurchase').catch(() => undefined);
    for (let v = 1; latest && v <= latest.version; v++)
      models.push(await loadModel(platform.store, 'repurchase', v).catch(() => latest));
    const times = [
      ...domains.map((d) => d.manifest?.publishedAt),
      registry.updatedAt,
      ...models.map((m) => m.createdAt),
    ].filter((t): t is string => typeof t === 'string' && t !== '');
    const newest = times.reduce((a, b) => (a > b ? a : b), new Date(0).toISOString());
    return {
      platform,
      stamp: { time: Date.parse(newest), actor: SYSTEM_ACTOR },
      policy: loadPolicy(),
      domains,
      registry,
      views,
      models: [...new Map(models.map((m) => [m.version, m])).values()],
    };
  } finally {
    duck.close();
  }
}
