import type { MeshPlatform } from './platformLineage.js';
import { listDomains } from '../platform/index.js';
import { loadContract, slaHours } from '../governance/index.js';
import { currentManifest, recentRuns, curatedName } from '../products/index.js';

export interface DataProduct {
  domain: string;
  name: string;
  owner: string;
  description: string;
  contractVersion: string;
  domainVersion: string;
  status: string;
  slos: { property: string; value: number | string; unit?: string }[];
  freshness: {
    publishedAt: string | null;
    dataAsOf: string | null;
    ageHours: number | null;
    sloHours: number | null;
    ok: boolean | null;
  };
  quality: { runId: string; status: string; passed: number; total: number; failed: string[] } | null;
  datasets: { name: string; rows: number; columns: { name: string; type: string; pii: boolean }[] }[];
  /** Jobs, operations and clients that read the product (from lineage). */
  consumers: { job: string; clients: string[]; reads: number }[];
}

/** Every domain's data product: contract, SLOs, freshness, last quality result, schema, and who consumes it. */
export async function dataProducts(platform: MeshPlatform, now = new Date(platform.now())): Promise<DataProduct[]> {
  const edges = await platform.lineage.graph.edges();
  return Promise.all(
    listDomains(platform.config.domainsDir).map(async (d) => {
      const contract = loadContract(d.contractFile, d.name);
      const manifest = await currentManifest(platform, d.name);
      const [run] = await recentRuns(platform, d.name, 1);
      const slos = (contract.slaProperties ?? []).map((s) => ({
        property: s.property,
        value: s.value as number | string,
        unit: s.unit,
      }));
      const sloHours = slaHours(contract, 'freshness') ?? null;
      const ageHours = manifest ? (now.getTime() - new Date(manifest.asOf).getTime()) / 3_600_000 : null;
      const names = new Set(Object.keys(manifest?.datasets ?? {}).map((n) => curatedName(d.name, n)));
      const consumers = new Map<string, { clients: Set<string>; reads: number }>();
      for (const e of edges) {
        if (!names.has(e.from.name) || e.job === `pipeline.${d.name}`) continue;
        const c = consumers.get(e.job) ?? { clients: new Set<string>(), reads: 0 };
        if (e.client) c.clients.add(e.client);
        c.reads = Math.max(c.reads, e.count);
        consumers.set(e.job, c);
      }
      return {
        domain: d.name,
        name: contract.dataProduct,
        owner: contract.team?.name ?? d.name,
        description: contract.description?.purpose ?? '',
        contractVersion: contract.version,
        domainVersion: d.version,
        status: contract.status ?? 'active',
        slos,
        freshness: {
          publishedAt: manifest?.publishedAt ?? null,
          dataAsOf: manifest?.asOf ?? null,
          ageHours: ageHours === null ? null : Math.round(ageHours * 10) / 10,
          sloHours,
          ok: ageHours === null || sloHours === null ? null : ageHours <= sloHours,
        },
        quality: run
          ? {
              runId: run.runId,
              status: run.status,
              passed: run.quality.filter((q) => q.passed).length,
              total: run.quality.length,
              failed: run.quality
                .filter((q) => !q.passed)
                .map((q) => `${q.dataset}${q.column ? `.${q.column}` : ''}: ${q.rule}`),
            }
          : null,
        datasets: Object.values(manifest?.datasets ?? {}).map((ds) => ({
          name: ds.name,
          rows: ds.rows,
          columns: ds.columns,
        })),
        consumers: [...consumers]
          .map(([job, c]) => ({ job, clients: [...c.clients].sort(), reads: c.reads }))
          .sort((a, b) => a.job.localeCompare(b.job)),
      };
    }),
  );
}
