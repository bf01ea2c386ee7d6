import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MeshError, ErrorCode, LINEAGE_FILE, DECLARED_COLUMNS } from '../platform/index.js';

/** A curated column a graph field reads. */
export interface ColumnRef {
  domain: string;
  dataset: string;
  column: string;
}

export interface FieldSource {
  subgraph: string;
  /** Columns read; for a plain field exactly the column it returns. */
  columns: ColumnRef[];
  /** Set when the field is derived (aggregates, lookups, pagination): what it computes. */
  computed?: string;
}

type Entry = string | string[] | { computed: string; reads?: string[] };

/**
 * Field-level lineage of the graph: `Type.field` → the subgraphs that resolve it and the curated columns they read,
 * from the `lineage.yaml` beside each subgraph's schema. A field several subgraphs resolve is an entity key: the join.
 */
export function loadFieldLineage(subgraphs: { name: string; schemaFile?: string }[]): Map<string, FieldSource[]> {
  const out = new Map<string, FieldSource[]>();
  for (const s of subgraphs) {
    if (!s.schemaFile) continue;
    const file = path.join(path.dirname(s.schemaFile), LINEAGE_FILE);
    if (!fs.existsSync(file)) continue;
    const doc = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, Record<string, Entry>>;
    for (const [type, fields] of Object.entries(doc)) {
      // `columns:` is the pipeline's column lineage declared by hand, not a type of the graph.
      if (type === DECLARED_COLUMNS) continue;
      for (const [field, entry] of Object.entries(fields ?? {})) {
        const refs = typeof entry === 'string' ? [entry] : Array.isArray(entry) ? entry : (entry.reads ?? []);
        const source: FieldSource = {
          subgraph: s.name,
          columns: refs.map((r) => columnRef(r, s.name, `${file}: ${type}.${field}`)),
        };
        if (typeof entry === 'object' && !Array.isArray(entry)) source.computed = entry.computed;
        const key = `${type}.${field}`;
        out.set(key, [...(out.get(key) ?? []), source]);
      }
    }
  }
  return out;
}

function columnRef(ref: string, domain: string, where: string): ColumnRef {
  const parts = ref.split('.');
  if (parts.length === 2) return { domain, dataset: parts[0]!, column: parts[1]! };
  if (parts.length === 3) return { domain: parts[0]!, dataset: parts[1]!, column: parts[2]! };
  throw new MeshError(ErrorCode.CONFIG_INVALID, `${where}: "${ref}" must be dataset.column or domain.dataset.column`);
}
