import fs from 'node:fs';
import type { MeshPlatform } from './platformLineage.js';
import { Metrics, listDomains, MeshError, ErrorCode, type Listening } from '../platform/index.js';
import { knownRoles, loadRoles } from '../governance/index.js';
import { serveSubgraph } from '../products/index.js';
import { dataProducts } from './catalog.js';
import type { LineageEdge, LineageNode } from './graph.js';

export const METADATA_SUBGRAPH = 'metadata';
const SCHEMA = new URL('./schema.graphql', import.meta.url);
const VERSION = (JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export interface RunningMetadataServer extends Listening {
  name: string;
  version: string;
  sdl: string;
}

/** The `metadata` subgraph: data products and the lineage graph, composed into the supergraph beside the domains. */
export async function startMetadataServer(
  platform: MeshPlatform,
  options: { port: number },
): Promise<RunningMetadataServer> {
  const sdl = fs.readFileSync(SCHEMA, 'utf8');
  const graph = platform.lineage.graph;
  const roles = knownRoles(
    loadRoles(),
    listDomains(platform.config.domainsDir).map((d) => d.name),
  );
  const resolvers = {
    Query: {
      dataProducts: () => dataProducts(platform),
      dataProduct: async (_: unknown, { domain }: { domain: string }) =>
        (await dataProducts(platform)).find((p) => p.domain === domain) ?? null,
      lineage: async (
        _: unknown,
        a: { dataset: string; field?: string; direction: 'UPSTREAM' | 'DOWNSTREAM'; depth: number },
      ) =>
        (
          await (a.direction === 'UPSTREAM'
            ? graph.upstream(a.dataset, a.field ?? undefined, hops(a.depth, 50))
            : graph.downstream(a.dataset, a.field ?? undefined, hops(a.depth, 50)))
        ).map((n) => ({ ...n, dataset: n.name })),
      columnReaders: (_: unknown, a: { dataset: string; column: string }) => graph.readers(a.dataset, a.column),
      lineageGraph: async (_: unknown, a: { dataset: string; field?: string | null; depth: number }) =>
        lineageDiagram((await graph.neighbourhood(a.dataset, a.field ?? undefined, hops(a.depth, 20))).edges),
    },
    ServiceLevel: { value: (s: { value: unknown }) => String(s.value) },
  };
  const listening = await serveSubgraph(platform, {
    name: METADATA_SUBGRAPH,
    version: VERSION,
    sdl,
    resolvers,
    port: options.port,
    metrics: new Metrics('metadata'),
    context: (identity) => ({ identity }),
    knownRole: (role) => roles.includes(role),
  });
  return {
    ...listening,
    name: METADATA_SUBGRAPH,
    version: VERSION,
    sdl,
  };
}

const nodeId = (n: LineageNode) => `${n.name}#${n.field}`;

/**
 * What a node is, from where it lives: gateway outputs, raw sources, offline feature tables, online views, curated
 * data.
 */
function nodeKind(n: LineageNode): string {
  if (n.namespace === 'mesh://gateway') return 'operation';
  if (n.name.includes('/raw/')) return 'raw';
  if (n.name.startsWith('features.')) return 'feature';
  if (/@v\d+$/.test(n.name)) return 'online';
  return 'curated';
}

function lineageDiagram(edges: LineageEdge[]) {
  const nodes = new Map<string, LineageNode>();
  for (const e of edges) for (const n of [e.from, e.to]) nodes.set(nodeId(n), n);
  return {
    nodes: [...nodes].map(([id, n]) => ({
      id,
      namespace: n.namespace,
      dataset: n.name,
      field: n.field,
      kind: nodeKind(n),
    })),
    edges: edges.map((e) => ({
      from: nodeId(e.from),
      to: nodeId(e.to),
      job: e.job,
      type: e.type,
      subtype: e.subtype,
      masked: e.masking,
      count: e.count,
    })),
  };
}

/** A depth argument: whole hops from 1 to `max`, or BAD_USER_INPUT naming it (a negative depth is no depth). */
function hops(depth: number, max: number): number {
  if (!Number.isInteger(depth) || depth < 1 || depth > max)
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `depth must be a whole number from 1 to ${max}, got ${depth}`);
  return depth;
}
