import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  authenticateBearer,
  httpStatus,
  isMeshError,
  MeshError,
  ErrorCode,
  readJson,
  requireJsonBody,
  requireMethod,
  sendErrorProblem,
  setErrorHeaders,
  sendJson,
  type Identity,
  type Platform,
  type Route,
} from '../../platform/index.js';
import type { FeatureAccess } from '../../governance/index.js';
import type { FeatureType } from '../definitions.js';
import { tableId, viewByName, type ViewVersion } from '../registry.js';
import { materialize, writeOnline } from '../materialize.js';
import { entityKey } from '../online/codec.js';
import type { OnlineStore, OnlineWrite } from '../online/types.js';
import { statusCounts, type ServingMetrics } from './servingMetrics.js';
import type { LargeReads } from './largeReads.js';
import { getOnlineFeatures, planOnlineRead } from './getOnlineFeatures.js';
import { feastJson } from './feastJson.js';
import type { RegistryCache } from './registryCache.js';
import type { FeastAdmission } from './feastAdmission.js';

export interface FeastDeps {
  platform: Platform;
  /** Each caller's cost budget and the pool large reads run in. */
  admission: FeastAdmission;
  /** Worker threads for large reads; absent, they are read in this thread (still one pool slot at a time). */
  largeReads?: LargeReads;
  registries: RegistryCache;
  online: OnlineStore;
  serving: ServingMetrics;
  roles: string[];
  access: (role: string) => FeatureAccess;
}

const RANK: Record<FeatureAccess, number> = { read: 0, write: 1, operate: 2 };

/**
 * Feast's feature server endpoints (`feast serve`), with the request and response shapes Feast's clients use: reads for
 * every known role, pushes for roles that may write features, materialization for operators.
 */
export function feastRoutes(d: FeastDeps): Record<string, Route> {
  const endpoint =
    (
      needs: FeatureAccess,
      handle: (body: unknown, identity: Identity) => Promise<{ json: string } | undefined>,
    ): Route =>
    async (req, res) => {
      try {
        requireMethod(req, ['POST']);
        requireJsonBody(req);
        const identity = await authenticateBearer(req.headers.authorization, d.platform.config.auth, d.roles);
        if (RANK[d.access(identity.role)] < RANK[needs])
          throw new MeshError(
            ErrorCode.FORBIDDEN,
            `role "${identity.role}" may not ${needs === 'write' ? 'write features' : 'run materialization'} ` +
              '(roles.yaml: features)',
          );
        const out = await handle(await readJson(req, d.platform.config.maxBodyBytes), identity);
        if (out) sendRaw(res, 200, out.json);
        else sendRaw(res, 200, 'null');
      } catch (err) {
        if (!isMeshError(err)) throw err;
        sendError(req, res, err, d.platform.config.feastErrors);
      }
    };
  return {
    '/get-online-features': endpoint('read', async (body, identity) => {
      const plan = planOnlineRead(await d.registries.get(), body);
      // Admitted by size before the store is read; a large read is heavy until its answer is written out.
      const answer = await d.admission.run(identity, plan.values, async (heavy) => {
        if (heavy && d.largeReads) return d.largeReads.read(plan, d.platform.now());
        const read = await getOnlineFeatures(plan, d.online, d.platform.now());
        return {
          json: feastJson(read),
          statuses: statusCounts(read.features.map((f) => f.statuses)),
          error: read.error,
        };
      });
      d.serving.countStatuses(answer.statuses, 'rest');
      if (answer.error)
        d.platform.log.warn(
          { err: answer.error },
          'get-online-features answered INVALID statuses: the online store is unavailable',
        );
      return { json: answer.json };
    }),
    '/push': endpoint('write', async (body) => {
      const b = object(body, 'push');
      const to = b.to ?? 'online';
      if (to === 'offline' || to === 'online_and_offline') {
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `push: "to": "${String(to)}" is not offered: offline tables are computed from contract-checked curated ` +
            `data (mesh features compute), never written directly`,
        );
      }
      if (to !== 'online')
        throw new MeshError(ErrorCode.BAD_USER_INPUT, `push: "to" must be "online" (got ${JSON.stringify(to)})`);
      return writeRows(d, 'push', string(b.push_source_name, 'push_source_name'), b.df);
    }),
    '/write-to-online-store': endpoint('write', async (body) => {
      const b = object(body, 'write-to-online-store');
      return writeRows(d, 'write-to-online-store', string(b.feature_view_name, 'feature_view_name'), b.df);
    }),
    '/materialize': endpoint('operate', async (body) => {
      const b = object(body, 'materialize');
      await materialize(d.platform, d.online, {
        start: time(b.start_ts, 'start_ts'),
        end: time(b.end_ts, 'end_ts'),
        views: views(b.feature_views),
      });
      return undefined;
    }),
    '/materialize-incremental': endpoint('operate', async (body) => {
      const b = object(body, 'materialize-incremental');
      await materialize(d.platform, d.online, {
        incremental: true,
        end: time(b.end_ts, 'end_ts'),
        views: views(b.feature_views),
      });
      return undefined;
    }),
  };
}

/** Rows of one view from a columnar `df`, written online under the newer-wins rule (and the view's expiry). */
async function writeRows(d: FeastDeps, where: string, name: string, df: unknown): Promise<{ json: string }> {
  const view = viewByName(await d.registries.get(), name);
  const now = d.platform.now();
  const records = recordsOf(view, df, where, now);
  return {
    json: JSON.stringify({
      table: tableId(view),
      rows: records.length,
      ...(await writeOnline(d.online, view, records, now)),
    }),
  };
}

function recordsOf(view: ViewVersion, df: unknown, where: string, now: number): OnlineWrite[] {
  const bad = (m: string, details: Record<string, unknown> = {}) =>
    new MeshError(ErrorCode.BAD_USER_INPUT, `${where}: ${m}`, details);
  if (typeof df !== 'object' || df === null || Array.isArray(df))
    throw bad('"df" must map each column to an array of values');
  const columns = df as Record<string, unknown>;
  const required = [...view.joinKeys, 'event_timestamp', ...view.features.map((f) => f.name)];
  const missing = required.filter((c) => !Object.hasOwn(columns, c));
  if (missing.length) throw bad(`"df" lacks column(s) ${missing.join(', ')} of view ${tableId(view)}`);
  const arrays = Object.entries(columns);
  for (const [k, v] of arrays) if (!Array.isArray(v)) throw bad(`df.${k} must be an array`);
  const n = (columns[view.joinKeys[0]!] as unknown[]).length;
  if (arrays.some(([, v]) => (v as unknown[]).length !== n)) throw bad('every df column must have the same length');
  const col = (c: string) => columns[c] as unknown[];
  return Array.from({ length: n }, (_, i) => {
    const eventTs = Date.parse(String(col('event_timestamp')[i]));
    if (Number.isNaN(eventTs))
      throw bad(`row ${i}: event_timestamp ${JSON.stringify(col('event_timestamp')[i])} is not a time`);
    const created = Object.hasOwn(columns, 'created')
      ? col('created')[i]
      : Object.hasOwn(columns, 'created_timestamp')
        ? col('created_timestamp')[i]
        : undefined;
    const createdTs = created === undefined || created === null ? now : Date.parse(String(created));
    if (Number.isNaN(createdTs)) throw bad(`row ${i}: created time ${JSON.stringify(created)} is not a time`);
    const values = view.features.map((f) =>
      typed(col(f.name)[i], f.dtype, () =>
        bad(`row ${i}: ${f.name} must be ${f.dtype} (got ${JSON.stringify(col(f.name)[i])})`),
      ),
    );
    const keys = view.joinKeys.map((k) => {
      const v = col(k)[i];
      if (v === null || v === undefined || v === '') throw bad(`row ${i}: join key ${k} is empty`);
      return v;
    });
    return { key: entityKey(keys), eventTs, createdTs, values };
  });
}

function typed(v: unknown, dtype: FeatureType, bad: () => Error): unknown {
  if (v === null || v === undefined) return null;
  const ok =
    dtype === 'Int64'
      ? Number.isSafeInteger(v)
      : dtype === 'Float64'
        ? typeof v === 'number' && Number.isFinite(v)
        : dtype === 'String'
          ? typeof v === 'string'
          : typeof v === 'boolean';
  if (!ok) throw bad();
  return v;
}

/** Feast's exception classes for the mesh's errors: its client raises the same type it would from Feast's server. */
function feastClass(err: MeshError): string {
  const hinted = err.details.feastClass;
  if (typeof hinted === 'string') return hinted;
  switch (err.code) {
    case ErrorCode.NOT_FOUND:
      return 'FeastObjectNotFoundException';
    case ErrorCode.FORBIDDEN:
    case ErrorCode.UNAUTHENTICATED:
      return 'FeastPermissionError';
    default:
      return 'FeastError';
  }
}

function sendError(req: IncomingMessage, res: ServerResponse, err: MeshError, format: 'mesh' | 'feast'): void {
  const status = httpStatus(err.code);
  const feast = format === 'feast' || /application\/vnd\.feast\.error\+json/.test(String(req.headers.accept ?? ''));
  if (!feast) return sendErrorProblem(res, err);
  setErrorHeaders(res, err);
  // Feast's server answers a JSON string holding {module, class, message}; its client decodes that into the exception.
  sendJson(
    res,
    status,
    JSON.stringify({ module: 'feast.errors', class: feastClass(err), message: err.message, code: err.code }),
  );
}

function sendRaw(res: ServerResponse, status: number, json: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(json);
}

function object(body: unknown, where: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `${where}: the body must be a JSON object`);
  return body as Record<string, unknown>;
}

function string(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '')
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `"${name}" must be a non-empty string`);
  return v;
}

function time(v: unknown, name: string): Date {
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `"${name}" must be an ISO-8601 time (got ${JSON.stringify(v)})`);
  return d;
}

function views(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new MeshError(ErrorCode.BAD_USER_INPUT, '"feature_views" must be an array of view names');
  return v;
}
