import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MeshError, ErrorCode, type DomainInfo } from '../platform/index.js';

/** Feast's value types; each maps to one DuckDB type in the offline store. */
export const FEATURE_TYPES = { Int64: 'BIGINT', Float64: 'DOUBLE', String: 'VARCHAR', Bool: 'BOOLEAN' } as const;
export type FeatureType = keyof typeof FEATURE_TYPES;

/** Something features describe, with the columns that identify it and the graph type it extends. */
export interface EntityDefinition {
  name: string;
  joinKeys: string[];
  description?: string;
  /** The federated entity the `features` subgraph extends with a `features` field; its key field holds the join key. */
  graphql?: { type: string; keyField: string };
}

export interface FeatureDefinition {
  name: string;
  dtype: FeatureType;
  description?: string;
}

export interface FeatureViewDefinition {
  name: string;
  /** Entity names; their join keys identify a row. */
  entities: string[];
  /** How long a value stays valid after its event time: `30d`, `12h`, `0` (forever). */
  ttl: string;
  owner: string;
  description: string;
  tags?: Record<string, string>;
  features: FeatureDefinition[];
  /**
   * SQL over curated data products (`<domain>.<dataset>`), in a file beside the definition. It returns the join keys,
   * `event_timestamp` (when the values became true; a value may only use data from before it) and the features.
   */
  sql: string;
  /**
   * Feast's push source: the view's rows are pushed online as its domain's stream source `source` is ingested, for
   * the entities each micro-batch's events name (the newer event time wins); its offline table is computed on the
   * schedule like any view's.
   */
  push?: PushSpec;
}

export interface PushSpec {
  /** The domain's stream source (pipeline.yaml) whose events trigger pushes; they carry the join keys. */
  source: string;
  /**
   * For a view whose value at an instant reads only the recent rows of some datasets (its widest window): how far back
   * (`within`, as a ttl), and each such dataset's time column (`<domain>.<dataset>`: column). A push then reads those
   * datasets' rows of its entities from that far before the batch's earliest event, not their whole history; other
   * datasets are read whole.
   */
  lookback?: { within: string; columns: Record<string, string> };
}

export interface FeatureServiceDefinition {
  name: string;
  description?: string;
  owner?: string;
  /** `view:feature` or `view:*`, optionally pinned to a version: `view@v2:feature`. */
  features: string[];
}

export interface DomainFeatures {
  entities?: EntityDefinition[];
  views?: FeatureViewDefinition[];
  services?: FeatureServiceDefinition[];
}

/** A definition as loaded: with its domain and its SQL text. */
export interface LoadedView extends Omit<FeatureViewDefinition, 'sql'> {
  domain: string;
  sqlFile: string;
  sql: string;
  ttlSeconds: number;
  joinKeys: string[];
}

export interface LoadedDefinitions {
  entities: (EntityDefinition & { domain: string })[];
  views: LoadedView[];
  services: (FeatureServiceDefinition & { domain: string })[];
}

export const FEATURES_FILE = 'features.ts';
const NAME = /^[a-z][a-z0-9_]*$/;

export function defineFeatures(features: DomainFeatures): DomainFeatures {
  return features;
}

/** Every domain's `features.ts`, validated together: names unique across the mesh, entities known, SQL present. */
export async function loadDefinitions(domains: DomainInfo[]): Promise<LoadedDefinitions> {
  const out: LoadedDefinitions = { entities: [], views: [], services: [] };
  for (const domain of domains) {
    const file = path.join(domain.dir, FEATURES_FILE);
    if (!fs.existsSync(file)) continue;
    const defs = ((await import(pathToFileURL(file).href)) as { default?: DomainFeatures }).default;
    if (!defs) throw invalid(`${file} has no default export (export default defineFeatures({...}))`);
    for (const e of defs.entities ?? []) out.entities.push({ ...e, domain: domain.name });
    for (const s of defs.services ?? []) out.services.push({ ...s, domain: domain.name });
    for (const v of defs.views ?? []) {
      const sqlFile = path.resolve(domain.dir, v.sql);
      if (!fs.existsSync(sqlFile))
        throw invalid(`feature view ${v.name} (${domain.name}): SQL file ${v.sql} not found`);
      out.views.push({
        ...v,
        domain: domain.name,
        sqlFile,
        sql: fs.readFileSync(sqlFile, 'utf8'),
        ttlSeconds: parseTtl(v.ttl, v.name),
        joinKeys: [],
      });
    }
  }
  validate(out);
  return out;
}

function validate(defs: LoadedDefinitions): void {
  const entities = new Map<string, EntityDefinition>();
  for (const e of defs.entities) {
    if (!NAME.test(e.name)) throw invalid(`entity name "${e.name}" (${e.domain}) must be snake_case`);
    if (entities.has(e.name)) throw invalid(`entity "${e.name}" is defined twice`);
    if (e.joinKeys.length === 0) throw invalid(`entity "${e.name}" has no join keys`);
    entities.set(e.name, e);
  }
  const views = new Set<string>();
  for (const v of defs.views) {
    const where = `feature view ${v.name} (${v.domain})`;
    if (!NAME.test(v.name)) throw invalid(`${where}: the name must be snake_case`);
    if (views.has(v.name)) throw invalid(`${where}: another domain defines a view with this name`);
    views.add(v.name);
    if (!v.owner) throw invalid(`${where}: owner is required`);
    if (v.push && !NAME.test(v.push.source ?? ''))
      throw invalid(`${where}: push.source must name one of the domain's stream sources (got "${v.push.source}")`);
    const lookback = v.push?.lookback;
    if (lookback) {
      if (lookback.within === '0' || !parseTtl(lookback.within, v.name))
        throw invalid(`${where}: push.lookback.within must be a duration such as 1d or 2h (got "${lookback.within}")`);
      const columns = Object.entries(lookback.columns ?? {});
      if (
        columns.length === 0 ||
        columns.some(([ds, c]) => !/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(ds) || !NAME.test(c))
      )
        throw invalid(`${where}: push.lookback.columns must map <domain>.<dataset> to a time column`);
    }
    if (v.entities.length === 0) throw invalid(`${where}: needs at least one entity`);
    v.joinKeys = v.entities.flatMap((name) => {
      const e = entities.get(name);
      if (!e) throw invalid(`${where}: unknown entity "${name}" (known: ${[...entities.keys()].join(', ') || 'none'})`);
      return e.joinKeys;
    });
    const names = new Set<string>();
    for (const f of v.features) {
      if (!NAME.test(f.name)) throw invalid(`${where}: feature name "${f.name}" must be snake_case`);
      if (names.has(f.name)) throw invalid(`${where}: feature "${f.name}" is listed twice`);
      if (!(f.dtype in FEATURE_TYPES))
        throw invalid(
          `${where}: feature "${f.name}" has type "${f.dtype}" (one of ${Object.keys(FEATURE_TYPES).join(', ')})`,
        );
      if (['event_timestamp', 'created_timestamp', ...v.joinKeys].includes(f.name))
        throw invalid(`${where}: "${f.name}" is a reserved column name`);
      names.add(f.name);
    }
  }
  const services = new Set<string>();
  for (const s of defs.services) {
    if (!NAME.test(s.name)) throw invalid(`feature service "${s.name}" (${s.domain}) must be snake_case`);
    if (services.has(s.name)) throw invalid(`feature service "${s.name}" is defined twice`);
    if (views.has(s.name)) throw invalid(`feature service "${s.name}" has the name of a feature view`);
    services.add(s.name);
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `30d` → seconds; `0` means values never expire (Feast's ttl=0). */
export function parseTtl(ttl: string, view: string): number {
  if (ttl === '0') return 0;
  const m = /^(\d+)([smhdw])$/.exec(ttl);
  if (!m) throw invalid(`feature view ${view}: ttl "${ttl}" must look like 30d, 12h, 15m, 90s or 0`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function invalid(message: string): MeshError {
  return new MeshError(ErrorCode.FEATURES_INVALID, message);
}
