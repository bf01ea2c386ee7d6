import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import DataLoader from 'dataloader';
import { parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { applyMiddleware } from 'graphql-middleware';
import type { Platform } from '../context.js';
import type { DomainInfo } from '../domains.js';
import { IDENTITY_HEADER, verifyInternalIdentity, type Identity } from '../auth.js';
import { listen, graphqlRoute, sendJson, type Listening } from '../http.js';
import { Metrics } from '../metrics.js';
import { sqlIdent as id, sqlString } from '../duckdb.js';
import { loadRoles, piiAccess, type RolePolicy } from '../../governance/access.js';
import { piiShield } from '../../governance/shield.js';
import { CuratedData } from './data.js';
import { DateTime } from './scalars.js';
import type { PiiAccessor, SqlRunner, SubgraphContext, SubgraphModule } from './types.js';

export interface RunningSubgraph extends Listening {
  name: string;
  version: string;
  sdl: string;
  data: CuratedData;
  metrics: Metrics;
}

type Ctx = SubgraphContext & { queries: { n: number; ms: number } };

export const SCHEMA_FILE = 'schema.graphql';
export const RESOLVERS_FILE = 'resolvers.ts';

/** Serves one domain's subgraph over its curated data. Requests must carry the gateway's signed identity. */
export async function startSubgraph(platform: Platform, domain: DomainInfo, port: number): Promise<RunningSubgraph> {
  const sdl = fs.readFileSync(path.join(domain.dir, SCHEMA_FILE), 'utf8');
  const module = (await import(pathToFileURL(path.join(domain.dir, RESOLVERS_FILE)).href)).default as SubgraphModule<unknown>;
  const policy = loadRoles();
  const built = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: { DateTime, ...module.resolvers } as never }]);
  const schema = applyMiddleware(built, piiShield(built, domain.name, policy));
  const data = await CuratedData.open(platform, domain.name);
  const metrics = new Metrics(`subgraph-${domain.name}`);
  metrics.observeFreshness(domain.name, domain.name, () => data.asOf);
  const server = new ApolloServer<Ctx>({
    schema,
    introspection: platform.config.env !== 'production',
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginInlineTraceDisabled(), metrics.requestPlugin<Ctx>(() => 'gateway')],
  });
  await server.start();

  const context = async (req: { headers: Record<string, string | string[] | undefined> }): Promise<Ctx> => {
    const header = req.headers[IDENTITY_HEADER];
    const identity = await verifyInternalIdentity(Array.isArray(header) ? header[0] : header, platform.config.auth);
    const queries = { n: 0, ms: 0 };
    const db: SqlRunner = {
      all: async (sql) => {
        queries.n++;
        metrics.duckdbQueries.inc();
        const started = performance.now();
        try {
          return await data.duck.all(sql);
        } finally {
          const ms = performance.now() - started;
          queries.ms += ms;
          metrics.duckdbDuration.observe(ms / 1000);
        }
      },
      batch: (keys) => metrics.loaderBatchKeys.observe(keys),
    };
    return { identity, db, loaders: module.loaders(db), pii: piiAccessor(data, domain.name, identity, policy, db), queries };
  };
  const listening = await listen(
    {
      '/graphql': graphqlRoute(server, context, (_req, res, ctx) => {
        res.setHeader('x-mesh-duckdb-queries', String(ctx.queries.n));
        res.setHeader('x-mesh-duckdb-ms', ctx.queries.ms.toFixed(3));
        res.setHeader('x-mesh-subgraph', `${domain.name}@${domain.version}`);
      }),
      '/health': (_req, res) => sendJson(res, 200, { status: 'ok', subgraph: domain.name, version: domain.version }),
      '/metrics': metrics.route(),
    },
    port,
  );
  // New curated versions are picked up without a restart.
  const timer = setInterval(() => void data.refresh().catch((err: unknown) => platform.log.error({ err, domain: domain.name }, 'refresh failed')), 2000);
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
      await server.stop();
      data.close();
    },
  };
}

function piiAccessor(data: CuratedData, domain: string, identity: Identity, policy: RolePolicy, db: SqlRunner): PiiAccessor {
  const clear = piiAccess(policy, identity.role, domain) === 'clear';
  const loaders = new Map<string, DataLoader<string, Record<string, unknown> | undefined>>();
  return {
    async reveal(dataset, key, column, masked) {
      if (!clear) return masked;
      let loader = loaders.get(dataset);
      if (!loader) {
        const pk = data.restrictedKey(dataset);
        loader = new DataLoader(async (keys: readonly string[]) => {
          const rows = await db.all(`SELECT * FROM restricted.${id(dataset)} WHERE ${id(pk)} IN (${keys.map(sqlString).join(', ')})`);
          const byKey = new Map(rows.map((r) => [String(r[pk]), r]));
          return keys.map((k) => byKey.get(k));
        });
        loaders.set(dataset, loader);
      }
      const row = await loader.load(key);
      return row === undefined ? null : ((row[column] as string | null) ?? null);
    },
  };
}
