import fs from 'node:fs';
import { parse } from 'yaml';
import { DECLARED_COLUMNS, ErrorCode, MeshError, type DomainInfo } from '../../platform/index.js';
import type { DeclaredLineage, RawFieldEdge } from './columnLineage.js';

const SUBTYPES = ['IDENTITY', 'TRANSFORMATION', 'AGGREGATION'] as const;

/**
 * The column lineage a domain declares by hand in its lineage.yaml, for SQL the analysis cannot follow:
 *
 *     columns:
 *       shipments:
 *         delay_hours: [carrier_events.promised_date AGGREGATION, carrier_events.event_time AGGREGATION]
 *
 * Each entry is a raw field of a source (`source.field`, a JSON path as declared) and how the column is computed from
 * it (IDENTITY, TRANSFORMATION, the default, or AGGREGATION).
 */
export function loadDeclaredLineage(domain: DomainInfo, sources: string[]): DeclaredLineage {
  const out: DeclaredLineage = new Map();
  if (!fs.existsSync(domain.lineageFile)) return out;
  const doc = (parse(fs.readFileSync(domain.lineageFile, 'utf8')) ?? {}) as Record<string, unknown>;
  const declared = doc[DECLARED_COLUMNS];
  if (declared === undefined) return out;
  const fail = (where: string, message: string): never => {
    throw new MeshError(ErrorCode.PIPELINE_INVALID, `${domain.lineageFile}: ${DECLARED_COLUMNS}.${where}: ${message}`);
  };
  if (typeof declared !== 'object' || declared === null) fail('', 'must map datasets to their columns');
  for (const [dataset, columns] of Object.entries(declared as Record<string, unknown>)) {
    if (typeof columns !== 'object' || columns === null) fail(dataset, 'must map columns to their raw fields');
    const byColumn = new Map<string, RawFieldEdge[]>();
    for (const [column, entries] of Object.entries(columns as Record<string, unknown>)) {
      const where = `${dataset}.${column}`;
      if (!Array.isArray(entries) || entries.length === 0)
        fail(where, 'must list the raw fields the column is computed from');
      byColumn.set(
        column,
        (entries as unknown[]).map((entry) => {
          const [ref, subtype = 'TRANSFORMATION', ...more] = String(entry).trim().split(/\s+/);
          const dot = ref!.indexOf('.');
          const source = ref!.slice(0, dot);
          if (dot <= 0 || !sources.includes(source))
            fail(where, `"${entry}" must name a raw field of a source (${sources.join(', ')}): source.field`);
          if (more.length || !(SUBTYPES as readonly string[]).includes(subtype))
            fail(where, `"${entry}": the transformation is one of ${SUBTYPES.join(', ')}`);
          return {
            source,
            field: ref!.slice(dot + 1),
            type: 'DIRECT',
            subtype: subtype as (typeof SUBTYPES)[number],
          };
        }),
      );
    }
    out.set(dataset, byColumn);
  }
  return out;
}
