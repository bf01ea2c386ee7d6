import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import DataLoader from 'dataloader';
import type { GraphQLSchema } from 'graphql';
import { Metrics, sqlIdent as id, type Platform, type DomainInfo, type Listening } from '../../platform/index.js';
import { CuratedData } from './curatedData.js';
import { serveSubgraph } from './subgraphServer.js';
import { byKey } from './loaders.js';
import type { LookupSpec } from './servingCopy.js';
import type { PiiAccessor, RuleTree, SqlRunner, SubgraphContext, SubgraphModule } from './types.js';

/**
 * The PII port of the subgraph runtime, implemented by governance: which callers see a domain's PII in clear, and the
 * schema guard that denies the rest. Passed in, so serving data products never imports the policy.
 */
export interface PiiGuard {
  /** Whether the policy knows the role at all (identities of other roles are refused). */
  knows(role: string): boolean;
  clear(role: string, domain: string): boolean;
  /** Serves `schema` under the PII rules of `domain` and the domain's own `rules`, in one graphql-shield tree. */
  protect(schema: GraphQLSchema, domain: string, rules?: RuleTree): GraphQLSchema;
}

export interface RunningSubgraph extends Listening {
  name: string;
  version: string;
  sdl: string;
  data: CuratedData;
  metrics: Metrics;
}

type Ctx = SubgraphContext & { queries: { n: number; ms: number }; generation: number };

export const SCHEMA_FILE = 'schema.graphql';
/** Response header of domain subgraphs: the data version (`currentDataVersion`) the request was served from. */
export const DATA_VERSION_HEADER = 'x-mesh-data-version';
export const RESOLVERS_FILE = 'resolvers.ts';

/** Serves one domain's subgraph over its curated data. Requests must carry the gateway's signed identity. */
export async function startSubgraph(
  platform: Platform,
  domain: DomainInfo,
  options: { port: number; guard: PiiGuard },
): Promise<RunningSubgraph> {
  const sdl = fs.readFileSync(path.join(domain.dir, SCHEMA_FILE), 'utf8');
  const module = (await import(pathToFileURL(path.join(domain.dir, RESOLVERS_FILE)).href))
    .default as SubgraphModule<unknown>;
  const data = await CuratedData.open(platform, domain.name);
  // The domain's declared lookups, known before the first request: the serving copy is built before serving starts.
  module.loaders({ all: async () => [], serving: data.serving.view() });
  for (const dataset of data.restrictedDatasets()) data.serving.declare(revealSpec(data, dataset));
  await data.serving.rebuild();
  const metrics = new Metrics(`subgraph-${domain.name}`);
  metrics.observeFreshness(
    domain.name,
    domain.name,
    () => data.asOf,
    () => platform.now(),
  );
  const listening = await serveSubgraph<Ctx>(platform, {
    name: domain.name,
    version: domain.version,
    sdl,
    resolvers: module.resolvers,
    port: options.port,
    metrics,
    guard: (schema) => options.guard.protect(schema, domain.name, module.rules),
    knownRole: (role) => options.guard.knows(role),
    context: (identity) => {
      const queries = { n: 0, ms: 0 };
      const db: SqlRunner = {
        all: async (sql) => {
          queries.n++;
          metrics.duckdbQueries.inc();
          const started = performance.now();
          try {
            return await data.duck.all(sql, platform.config.timeouts.statementMs);
          } finally {
            const ms = performance.now() - started;
            queries.ms += ms;
            metrics.duckdbDuration.observe(ms / 1000);
          }
        },
        batch: (keys) => metrics.loaderBatchKeys.observe(keys),
        serving: data.serving.view(),
      };
      return {
        identity,
        db,
        loaders: module.loaders(db),
        pii: piiAccessor(data, options.guard.clear(identity.role, domain.name), db),
        queries,
        generation: data.generation,
      };
    },
    onResponse: (res, ctx) => {
      res.setHeader('x-mesh-duckdb-queries', String(ctx.queries.n));
      res.setHeader('x-mesh-duckdb-ms', ctx.queries.ms.toFixed(3));
      // What the answer was computed from: the gateway caches answers only under the version they were computed on.
      // Empty when a version swap began or ended during the request: it may have read two versions.
      const settled = ctx.generation === data.generation && data.generation % 2 === 0;
      res.setHeader(DATA_VERSION_HEADER, settled ? data.version : '');
    },
  });
  // New curated versions are picked up without a restart.
  const timer = setInterval(
    () =>
      void data.refresh().catch((err: unknown) => platform.log.error({ err, domain: domain.name }, 'refresh failed')),
    2000,
  );
  timer.unref();
  return {
    ...listening,
    name: domain.name,
    version: domain.version,
    sdl,
    data,
    metrics,
    close: async () => {
      clearInterval(timer);
      await listening.close();
      data.close();
    },
  };
}

/** Clear values of a dataset's PII columns by its primary key, from the domain's restricted layer. */
function revealSpec(data: CuratedData, dataset: string): LookupSpec {
  return { from: `restricted.${id(dataset)}`, key: id(data.restrictedKey(dataset)), select: '*' };
}

function piiAccessor(data: CuratedData, clear: boolean, db: SqlRunner): PiiAccessor {
  const loaders = new Map<string, DataLoader<string, Record<string, unknown> | null>>();
  return {
    async reveal(dataset, key, column, masked) {
      if (!clear) return masked;
      let loader = loaders.get(dataset);
      if (!loader) loaders.set(dataset, (loader = byKey(db, revealSpec(data, dataset))));
      const row = await loader.load(key);
      return row === null ? null : ((row[column] as string | null) ?? null);
    },
  };
}
