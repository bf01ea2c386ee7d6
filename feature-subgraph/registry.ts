import { createHash } from 'node:crypto';
import {
  claimStore,
  getJson,
  isMeshError,
  putJson,
  MeshError,
  ErrorCode,
  type ObjectStore,
  type Platform,
} from '../platform/index.js';
import type { EntityDefinition, FeatureDefinition, LoadedDefinitions, LoadedView, PushSpec } from './definitions.js';
import { FEATURE_REGISTRY_KEY, featureRegistryObjectKey } from '../products/index.js';

/** One immutable version of a feature view: a change to what it computes makes a new one; old ones stay resolvable. */
export interface ViewVersion {
  name: string;
  version: number;
  domain: string;
  entities: string[];
  joinKeys: string[];
  ttlSeconds: number;
  owner: string;
  description: string;
  tags: Record<string, string>;
  features: FeatureDefinition[];
  sql: string;
  /** Pushed online as its domain's stream is ingested (FeatureViewDefinition.push). */
  push?: PushSpec;
  fingerprint: string;
  createdAt: string;
}

export interface ServiceVersion {
  name: string;
  version: number;
  domain: string;
  owner?: string;
  description?: string;
  /** Pinned references, `view@vN:feature`. */
  features: string[];
  fingerprint: string;
  createdAt: string;
}

export interface MaterializationState {
  /** Everything with an event time up to here is in the online store (materialize-incremental starts here). */
  watermark: string;
  lastRun: { start: string; end: string; rows: number; written: number; at: string };
}

export interface Registry {
  formatVersion: 1;
  updatedAt: string;
  entities: Record<string, EntityDefinition & { domain: string }>;
  views: Record<string, ViewVersion[]>;
  services: Record<string, ServiceVersion[]>;
  /** Views and services no longer defined: still resolvable by version, no longer current. */
  retired: Record<string, string>;
  /** Per online store (its URL), per table id (`view@vN`): a watermark means nothing for another store. */
  materialization: Record<string, Record<string, MaterializationState>>;
}

export type ChangeAction = 'create' | 'new-version' | 'update' | 'retire' | 'unchanged';

export interface PlannedChange {
  kind: 'entity' | 'view' | 'service';
  name: string;
  action: ChangeAction;
  /** Version before and after for views and services. */
  from?: number;
  to?: number;
  detail?: string;
}

export function emptyRegistry(): Registry {
  return {
    formatVersion: 1,
    updatedAt: new Date(0).toISOString(),
    entities: {},
    views: {},
    services: {},
    retired: {},
    materialization: {},
  };
}

export async function loadRegistry(store: ObjectStore): Promise<Registry> {
  return (await getJson<Registry>(store, FEATURE_REGISTRY_KEY)) ?? emptyRegistry();
}

/** The registry's head in the control plane: its content-addressed object in the store. */
interface RegistryHead {
  key: string;
  sha: string;
  updatedAt: string;
}
const REGISTRY_RECORD = 'features/registry';
const TAGS = { layer: 'features', 'data-product': 'feature-registry' };
/** What `mesh features apply` writes; the rest (materialization watermarks) other writers keep up to date. */
const definitionsOf = (r: Registry) => JSON.stringify([r.entities, r.views, r.services, r.retired]);

/**
 * Changes the registry by compare-and-swap on its head in the control plane, then copies the new head where readers
 * look (`_platform/features/registry.json`). When another writer moved the head meanwhile, the change is made again on
 * the new head, unless `definitions` is set and the other writer changed definitions: then a `CONFLICT`, as two
 * applies of different checkouts must not merge silently (one wins; the other runs again against it).
 */
export async function updateRegistry(
  platform: Pick<Platform, 'store' | 'control'>,
  change: (registry: Registry) => Registry | undefined,
  options: { definitions?: boolean } = {},
): Promise<Registry | undefined> {
  const read = async () => {
    const head = await platform.control.read<RegistryHead>(REGISTRY_RECORD);
    const registry = head
      ? await getJson<Registry>(platform.store, head.value.key)
      : await loadRegistry(platform.store);
    if (!registry)
      throw new MeshError(ErrorCode.STORE_ERROR, `the feature registry's head ${head?.value.key} is missing`);
    return { registry, revision: head?.revision ?? 0, head: head?.value };
  };
  await claimStore(platform.store, platform.control);
  for (let attempt = 1; ; attempt++) {
    const base = await read();
    const next = change(structuredClone(base.registry));
    if (!next) return undefined;
    const body: Registry = { ...next, updatedAt: new Date().toISOString() };
    const sha = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const head: RegistryHead = { key: featureRegistryObjectKey(sha), sha, updatedAt: body.updatedAt };
    await putJson(platform.store, head.key, body, TAGS);
    try {
      await platform.control.commit([{ key: REGISTRY_RECORD, value: head, expected: base.revision }]);
    } catch (err) {
      if (!isMeshError(err, ErrorCode.CONFLICT) || attempt >= 8) throw err;
      const now = await read();
      if (options.definitions && definitionsOf(now.registry) !== definitionsOf(base.registry))
        throw new MeshError(
          ErrorCode.CONFLICT,
          `the feature registry changed while applying: another apply won (registry revision ${now.revision}, ` +
            `${now.head?.updatedAt}). Run it again: it plans against that registry now.`,
          { lostTo: { revision: now.revision, updatedAt: now.head?.updatedAt ?? null } },
        );
      continue;
    }
    // Copies written out of order by racing writers are put right: the copy ends as the head's.
    let copy = { key: head.key, body };
    for (let i = 0; i < 5; i++) {
      await putJson(platform.store, FEATURE_REGISTRY_KEY, copy.body, TAGS);
      const now = await platform.control.read<RegistryHead>(REGISTRY_RECORD);
      if (!now || now.value.key === copy.key) break;
      copy = { key: now.value.key, body: (await getJson<Registry>(platform.store, now.value.key)) ?? copy.body };
    }
    return body;
  }
}

/** Replaces the registry (set-ups, benchmarks): an update that ignores what was there. */
export async function saveRegistry(platform: Pick<Platform, 'store' | 'control'>, registry: Registry): Promise<void> {
  await updateRegistry(platform, () => registry);
}

export const tableId = (v: { name: string; version: number }) => `${v.name}@v${v.version}`;

export function currentView(registry: Registry, name: string): ViewVersion | undefined {
  if (Object.hasOwn(registry.retired, name)) return undefined;
  return Object.hasOwn(registry.views, name) ? registry.views[name]!.at(-1) : undefined;
}

export function currentViews(registry: Registry): ViewVersion[] {
  return Object.keys(registry.views)
    .sort()
    .flatMap((n) => currentView(registry, n) ?? []);
}

/** The current views a domain's new data changes: its own, and those whose SQL reads one of its datasets. */
export function viewsReading(registry: Registry, domain: string): ViewVersion[] {
  const reads = new RegExp(`\\b${domain}\\.[a-z_]`);
  return currentViews(registry).filter((v) => v.domain === domain || reads.test(v.sql));
}

/** What `apply` would change, computed without writing anything. */
export function plan(
  registry: Registry,
  defs: LoadedDefinitions,
  now = new Date(),
): { changes: PlannedChange[]; next: Registry } {
  const next: Registry = structuredClone(registry);
  const changes: PlannedChange[] = [];
  const at = now.toISOString();

  for (const e of defs.entities) {
    const old = registry.entities[e.name];
    const action: ChangeAction = !old ? 'create' : JSON.stringify(old) === JSON.stringify(e) ? 'unchanged' : 'update';
    changes.push({ kind: 'entity', name: e.name, action });
    next.entities[e.name] = e;
  }

  for (const v of defs.views) {
    const versions = next.views[v.name] ?? [];
    const latest = versions.at(-1);
    const fingerprint = viewFingerprint(v);
    const meta = { owner: v.owner, description: v.description, tags: v.tags ?? {}, domain: v.domain, push: v.push };
    const wasRetired = next.retired[v.name] !== undefined;
    delete next.retired[v.name];
    if (latest && latest.fingerprint === fingerprint) {
      const changed = Object.entries(meta).filter(
        ([k, val]) => JSON.stringify(latest[k as keyof typeof meta]) !== JSON.stringify(val),
      );
      Object.assign(latest, meta);
      const action = changed.length > 0 || wasRetired ? 'update' : 'unchanged';
      changes.push({
        kind: 'view',
        name: v.name,
        action,
        from: latest.version,
        to: latest.version,
        detail: changed.length ? `metadata: ${changed.map(([k]) => k).join(', ')}` : undefined,
      });
      continue;
    }
    const version = (latest?.version ?? 0) + 1;
    versions.push({
      name: v.name,
      version,
      entities: v.entities,
      joinKeys: v.joinKeys,
      ttlSeconds: v.ttlSeconds,
      ...meta,
      features: v.features,
      sql: v.sql.trim(),
      fingerprint,
      createdAt: at,
    });
    next.views[v.name] = versions;
    changes.push({
      kind: 'view',
      name: v.name,
      action: latest ? 'new-version' : 'create',
      from: latest?.version,
      to: version,
      detail: latest ? describeViewChange(latest, v) : undefined,
    });
  }

  for (const s of defs.services) {
    const features = s.features.flatMap((ref) => pinnedRefs(next, ref, `feature service ${s.name}`));
    const fingerprint = sha(JSON.stringify(features));
    const versions = next.services[s.name] ?? [];
    const latest = versions.at(-1);
    delete next.retired[`service:${s.name}`];
    if (latest?.fingerprint === fingerprint) {
      Object.assign(latest, { owner: s.owner, description: s.description, domain: s.domain });
      changes.push({ kind: 'service', name: s.name, action: 'unchanged', from: latest.version, to: latest.version });
      continue;
    }
    const version = (latest?.version ?? 0) + 1;
    versions.push({
      name: s.name,
      version,
      domain: s.domain,
      owner: s.owner,
      description: s.description,
      features,
      fingerprint,
      createdAt: at,
    });
    next.services[s.name] = versions;
    changes.push({
      kind: 'service',
      name: s.name,
      action: latest ? 'new-version' : 'create',
      from: latest?.version,
      to: version,
    });
  }

  const defined = new Set(defs.views.map((v) => v.name));
  for (const name of Object.keys(registry.views)) {
    if (!defined.has(name) && !registry.retired[name]) {
      next.retired[name] = at;
      changes.push({ kind: 'view', name, action: 'retire', from: registry.views[name]!.at(-1)!.version });
    }
  }
  const services = new Set(defs.services.map((s) => s.name));
  for (const name of Object.keys(registry.services)) {
    if (!services.has(name) && !registry.retired[`service:${name}`]) {
      next.retired[`service:${name}`] = at;
      changes.push({ kind: 'service', name, action: 'retire', from: registry.services[name]!.at(-1)!.version });
    }
  }
  return { changes, next };
}

function viewFingerprint(v: LoadedView): string {
  return sha(
    JSON.stringify({
      entities: v.entities,
      ttl: v.ttlSeconds,
      features: v.features.map((f) => [f.name, f.dtype]),
      sql: v.sql.trim(),
    }),
  );
}

function describeViewChange(old: ViewVersion, v: LoadedView): string {
  const parts: string[] = [];
  const oldF = new Map(old.features.map((f) => [f.name, f.dtype]));
  const newF = new Map(v.features.map((f) => [f.name, f.dtype]));
  const added = [...newF.keys()].filter((f) => !oldF.has(f));
  const removed = [...oldF.keys()].filter((f) => !newF.has(f));
  const retyped = [...newF.keys()].filter((f) => oldF.has(f) && oldF.get(f) !== newF.get(f));
  if (added.length) parts.push(`+${added.join(', +')}`);
  if (removed.length) parts.push(`-${removed.join(', -')}`);
  if (retyped.length) parts.push(`retyped ${retyped.join(', ')}`);
  if (old.ttlSeconds !== v.ttlSeconds) parts.push(`ttl ${old.ttlSeconds}s → ${v.ttlSeconds}s`);
  if (JSON.stringify(old.entities) !== JSON.stringify(v.entities))
    parts.push(`entities ${old.entities.join(',')} → ${v.entities.join(',')}`);
  if (old.sql !== v.sql.trim()) parts.push('SQL changed');
  return parts.join('; ');
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export interface FeatureRef {
  view: string;
  version?: number;
  feature: string;
}

/** `view:feature`, `view@v2:feature`, `view@latest:feature` (Feast's spelling of the current version), `view:*`. */
export function parseRef(ref: string): FeatureRef {
  const m = /^([a-z][a-z0-9_]*)(?:@v(\d+)|@latest)?:([a-z][a-z0-9_]*|\*)$/.exec(ref.trim());
  if (!m)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `feature reference "${ref}" must look like view:feature, view@v2:feature, view@latest:feature or view:*`,
    );
  return { view: m[1]!, version: m[2] ? Number(m[2]) : undefined, feature: m[3]! };
}

export function findView(registry: Registry, name: string, version?: number): ViewVersion {
  const versions = Object.hasOwn(registry.views, name) ? registry.views[name] : undefined;
  if (!versions)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `unknown feature view "${name}" ` +
        `(known: ${Object.keys(registry.views).sort().join(', ') || 'none; run mesh features apply'})`,
      { feastClass: 'FeatureViewNotFoundException' },
    );
  if (version === undefined) {
    const v = currentView(registry, name);
    if (!v)
      throw new MeshError(
        ErrorCode.NOT_FOUND,
        `feature view "${name}" was retired; reference a version, e.g. ${name}@v${versions.at(-1)!.version}:…`,
      );
    return v;
  }
  const v = versions.find((x) => x.version === version);
  if (!v)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `feature view "${name}" has no version ${version} (versions: ${versions.map((x) => x.version).join(', ')})`,
    );
  return v;
}

/**
 * A view by `view` (current), `view@vN` or `view@latest` (Feast's spelling of current), as operators and Feast clients
 * name one.
 */
export function viewByName(registry: Registry, name: string): ViewVersion {
  const m = /^([a-z][a-z0-9_]*)(?:@(?:v(\d+)|latest))?$/.exec(name);
  if (!m)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `"${name}" is not a feature view name (view, view@vN or view@latest)`,
    );
  return findView(registry, m[1]!, m[2] ? Number(m[2]) : undefined);
}

function pinnedRefs(registry: Registry, ref: string, where: string): string[] {
  const r = parseRef(ref);
  let view: ViewVersion;
  try {
    view = findView(registry, r.view, r.version);
  } catch (err) {
    throw new MeshError(ErrorCode.FEATURES_INVALID, `${where}: ${(err as Error).message}`);
  }
  if (r.feature === '*') return view.features.map((f) => `${tableId(view)}:${f.name}`);
  if (!view.features.some((f) => f.name === r.feature))
    throw new MeshError(ErrorCode.FEATURES_INVALID, `${where}: view ${tableId(view)} has no feature "${r.feature}"`);
  return [`${tableId(view)}:${r.feature}`];
}

export function findService(registry: Registry, ref: string): ServiceVersion {
  const m = /^([a-z][a-z0-9_]*)(?:@v(\d+))?$/.exec(ref.trim());
  const versions = m && Object.hasOwn(registry.services, m[1]!) ? registry.services[m[1]!] : undefined;
  if (!m || !versions)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `unknown feature service "${ref}" (known: ${Object.keys(registry.services).sort().join(', ') || 'none'})`,
      { feastClass: 'FeatureServiceNotFoundException' },
    );
  const s = m[2] ? versions.find((x) => x.version === Number(m[2])) : versions.at(-1);
  if (!s)
    throw new MeshError(
      ErrorCode.NOT_FOUND,
      `feature service "${m[1]}" has no version ${m[2]} (versions: ${versions.map((x) => x.version).join(', ')})`,
    );
  return s;
}

/** The features of one view a request asks for, and the column names they get in the answer. */
export interface ViewRequest {
  view: ViewVersion;
  features: FeatureDefinition[];
  outputNames: string[];
}

export interface ResolvedFeatures {
  views: ViewRequest[];
  /** Join keys the entity rows must carry, in first-seen order. */
  joinKeys: string[];
  /** Output names of every feature in request order. */
  names: string[];
  /** Where each of `names` sits in `views`: answers are read per view, and returned in request order through this. */
  order: { view: number; feature: number }[];
}

/**
 * Resolves references (or a feature service) to view versions, grouped by view in first-seen order. Short output names
 * must be unique; `fullFeatureNames` gives Feast's `view__feature` instead.
 */
export function resolveFeatures(
  registry: Registry,
  request: { features?: string[]; service?: string; fullFeatureNames?: boolean },
): ResolvedFeatures {
  const hasFeatures = request.features !== undefined && request.features.length > 0;
  if (hasFeatures === (request.service !== undefined))
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      'give either features (view:feature references) or a feature service, not both and not neither',
    );
  const refs = hasFeatures
    ? request.features!.map(parseRef)
    : findService(registry, request.service!).features.map(parseRef);
  const byTable = new Map<string, ViewRequest>();
  const names: string[] = [];
  const order: ResolvedFeatures['order'] = [];
  for (const r of refs) {
    const view = findView(registry, r.view, r.version);
    const id = tableId(view);
    let group = byTable.get(id);
    if (!group) byTable.set(id, (group = { view, features: [], outputNames: [] }));
    const viewIndex = [...byTable.keys()].indexOf(id);
    const wanted = r.feature === '*' ? view.features : view.features.filter((f) => f.name === r.feature);
    if (wanted.length === 0)
      throw new MeshError(
        ErrorCode.NOT_FOUND,
        `feature view ${id} has no feature "${r.feature}" (features: ${view.features.map((f) => f.name).join(', ')})`,
      );
    for (const f of wanted) {
      // Feast refuses a feature asked for twice rather than answering one column for two requests.
      if (group.features.includes(f))
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `feature ${id}:${f.name} is asked for twice: each feature once per request`,
          { feastClass: 'FeatureNameCollisionError' },
        );
      // Feast's full name is view__feature; a pinned older version keeps its version in the name so columns never
      // collide.
      const prefix =
        r.version !== undefined && r.version !== currentView(registry, r.view)?.version
          ? `${r.view}_v${r.version}`
          : r.view;
      const name = request.fullFeatureNames ? `${prefix}__${f.name}` : f.name;
      if (names.includes(name))
        throw new MeshError(
          ErrorCode.BAD_USER_INPUT,
          `two requested features are both called "${name}": ask for full feature names (view__feature)`,
          { feastClass: 'FeatureNameCollisionError' },
        );
      names.push(name);
      order.push({ view: viewIndex, feature: group.features.length });
      group.features.push(f);
      group.outputNames.push(name);
    }
  }
  const views = [...byTable.values()];
  return { views, joinKeys: [...new Set(views.flatMap((v) => v.view.joinKeys))], names, order };
}
