import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import {
  sendJson,
  sendErrorProblem,
  sendProblem,
  requireMethod,
  isMeshError,
  listDomains,
  MeshError,
  ErrorCode,
  type Platform,
  type Identity,
  type Route,
} from '../platform/index.js';
import { loadSchedules, scheduleStatus } from '../jobs/index.js';
import { loadSupergraphConfig, SchemaRegistry } from '../governance/index.js';
import type { GatewayServices } from '../gateway/index.js';
import type { CostReport } from '../observability/index.js';

export const CONSOLE_DIST = path.join(path.dirname(new URL(import.meta.url).pathname), 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** The gateway's identity rules and observation: what the console's own reads are answered from. */
export type ConsoleDeps = Pick<GatewayServices, 'identify' | 'slo' | 'cost' | 'processes'>;

/** Roles that run the platform: they see every domain's cost. */
const OPERATORS = new Set(['admin', 'operator']);

/**
 * Who may read the cost allocation: operators all of it, a domain owner its own domain's line, nobody else (it is
 * budget information, not data). Everything else the console's API serves (identity, SLO state, published schemas)
 * describes the platform, not its data, and is open to every known role; data itself goes through /graphql under the
 * gateway's rules.
 */
export function costFor(identity: Identity, report: CostReport): CostReport {
  if (OPERATORS.has(identity.role)) return report;
  const owned = /^(.+)-owner$/.exec(identity.role)?.[1];
  if (!owned)
    throw new MeshError(
      ErrorCode.FORBIDDEN,
      `role "${identity.role}" may not read the cost allocation (operators and domain owners may)`,
    );
  return {
    ...report,
    domains: report.domains.filter((d) => d.domain === owned),
    queryLoad: report.queryLoad && {
      ...report.queryLoad,
      bySubgraph: Object.fromEntries(Object.entries(report.queryLoad.bySubgraph).filter(([s]) => s === owned)),
    },
  };
}

/** Roles that see the platform's internals (subgraph addresses) where others see its state. */
const INTERNALS_ROLES = new Set(['admin', 'operator']);

/**
 * The mesh console: a static single-page app (built by Vite into console/dist) and the few reads GraphQL does not carry
 * (the gateway's own SLO evaluation, cost, schema registry). Data products, lineage, features and the playground go
 * through /graphql with the user's token, so the console sees exactly what its user may see.
 */
export function consoleRoutes(platform: Platform, deps: ConsoleDeps): Record<string, Route> {
  const api =
    (handler: (req: IncomingMessage, identity: Identity) => Promise<unknown>): Route =>
    async (req, res) => {
      try {
        requireMethod(req, ['GET']);
        const identity = await deps.identify(req);
        sendJson(res, 200, await handler(req, identity));
      } catch (err) {
        if (!isMeshError(err)) throw err;
        sendErrorProblem(res, err);
      }
    };
  // The contracts' schedules, read once: the SLO page polls every 15 s.
  const schedules = loadSchedules(listDomains(platform.config.domainsDir));
  return {
    '/console/api/whoami': api(async (_req, identity) => identity),
    '/console/api/slo': api(async () => ({
      evaluatedAt: new Date().toISOString(),
      domains: deps.slo.status(),
      history: Object.fromEntries(deps.slo.slos.map((s) => [s.domain, deps.slo.history(s.domain)])),
      ...(deps.processes ? { processes: deps.processes.states() } : {}),
      schedule: await scheduleStatus(platform, schedules),
    })),
    '/console/api/cost': api(async (_req, identity) => costFor(identity, await deps.cost.get())),
    '/console/api/schemas': api(async (_req, identity) => {
      const registry = new SchemaRegistry(platform);
      const internals = INTERNALS_ROLES.has(identity.role);
      return Promise.all(
        loadSupergraphConfig(platform.config.gateway.config).map(async (s) => ({
          subgraph: s.name,
          // Where subgraphs listen is the platform's business: operators and admins see it.
          ...(internals ? { url: s.url } : {}),
          versions: (await registry.log(s.name)).reverse(),
          checks: await registry.recentChecks(s.name, 5),
        })),
      );
    }),
    // An API path the console does not have is a JSON 404, not the single-page app.
    '/console/api/*': (req, res) =>
      sendProblem(res, 404, { code: ErrorCode.NOT_FOUND, detail: `no console API at ${req.url?.split('?')[0]}` }),
    '/console': (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/console/');
      res.end();
    },
    '/console/*': (req, res) => {
      let rel: string;
      try {
        rel = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/console\/?/, ''));
      } catch {
        return sendProblem(res, 400, {
          code: ErrorCode.BAD_USER_INPUT,
          detail: 'the path is not valid percent-encoding',
        });
      }
      const file = path.resolve(CONSOLE_DIST, rel || 'index.html');
      if (file !== CONSOLE_DIST && !file.startsWith(CONSOLE_DIST + path.sep))
        return sendProblem(res, 400, { code: ErrorCode.BAD_USER_INPUT, detail: 'the path leaves the console' });
      // Unknown paths are client-side routes of the single-page app.
      const target = fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(CONSOLE_DIST, 'index.html');
      if (!fs.existsSync(target))
        return sendProblem(res, 503, {
          code: ErrorCode.SERVICE_UNAVAILABLE,
          detail: 'the console is not built: run npm run build',
        });
      res.setHeader('content-type', TYPES[path.extname(target)] ?? 'application/octet-stream');
      res.setHeader('x-content-type-options', 'nosniff');
      // Everything is bundled: nothing loads from elsewhere. Inline styles are how cytoscape and uPlot size their
      // canvases.
      res.setHeader(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      );
      // Vite names assets by content hash: they never change under one name.
      res.setHeader(
        'cache-control',
        target.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
      fs.createReadStream(target).pipe(res);
    },
  };
}
