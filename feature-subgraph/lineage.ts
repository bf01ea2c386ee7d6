import {
  columnLineageFacet,
  inputFields,
  jobOwnershipFacet,
  jobTypeFacet,
  runEvent,
  schemaFacet,
  sqlLineage,
  type ColumnEdge,
  type Duck,
  type FieldEdge,
  type InputField,
  type RunEvent,
} from '../platform/index.js';
import { curatedName, featureTableName } from '../products/index.js';

/** OpenLineage events of feature computation and materialization, sent through the platform's lineage port. */

/** A feature view's column lineage: each output column from the curated columns it reads, and what decides its rows. */
export interface ViewColumnLineage {
  fields: Record<string, InputField[]>;
  dataset: InputField[];
}

/**
 * The column lineage of a feature view's SQL over curated datasets (`domain.dataset`, with their columns), derived
 * from the SQL: a column is fed by what it is computed from, not by every column the SQL names.
 */
export async function featureColumnLineage(
  duck: Duck,
  sql: string,
  storeNamespace: string,
  datasets: { domain: string; dataset: string; columns: string[] }[],
): Promise<ViewColumnLineage> {
  const lineage = await sqlLineage(
    duck,
    sql,
    Object.fromEntries(datasets.map((d) => [`${d.domain}.${d.dataset}`, d.columns])),
  );
  const edges = (list: ColumnEdge[]): FieldEdge[] =>
    list.map((e) => {
      const [domain, dataset] = e.table.split('.');
      return { namespace: storeNamespace, name: curatedName(domain!, dataset!), ...e, field: e.column };
    });
  return {
    fields: Object.fromEntries(lineage.columns.map((c) => [c.name, inputFields(edges(c.edges))])),
    dataset: inputFields(edges(lineage.dataset)),
  };
}

export function featureComputeEvent(e: {
  namespace: string;
  storeNamespace: string;
  table: string;
  domain: string;
  owner: string;
  columns: string[];
  /** Absent when the view's SQL could not be followed: then the event says which datasets it read, not how. */
  lineage?: ViewColumnLineage;
  /** The curated datasets the view's SQL names. */
  reads: string[];
}): RunEvent {
  const read = e.lineage
    ? [...e.lineage.dataset, ...Object.values(e.lineage.fields).flat()].map((i) => i.name)
    : e.reads;
  const byDataset = [...new Set(read)].sort();
  return runEvent({
    eventType: 'COMPLETE',
    job: {
      namespace: e.namespace,
      name: `features.compute.${e.table}`,
      facets: {
        jobType: jobTypeFacet('FEATURE_COMPUTATION'),
        ownership: jobOwnershipFacet([{ name: e.owner, type: 'OWNER' }]),
      },
    },
    inputs: byDataset.map((name) => ({ namespace: e.storeNamespace, name })),
    outputs: [
      {
        namespace: e.storeNamespace,
        name: featureTableName(e.table),
        facets: {
          schema: schemaFacet(e.columns.map((name) => ({ name }))),
          ...(e.lineage
            ? {
                columnLineage: columnLineageFacet(
                  Object.fromEntries(e.columns.map((c) => [c, e.lineage!.fields[c] ?? []])),
                  e.lineage.dataset,
                ),
              }
            : {}),
        },
      },
    ],
  });
}

export function materializeEvent(e: {
  namespace: string;
  storeNamespace: string;
  onlineNamespace: string;
  table: string;
  features: string[];
}): RunEvent {
  const source = { namespace: e.storeNamespace, name: featureTableName(e.table) };
  return runEvent({
    eventType: 'COMPLETE',
    job: {
      namespace: e.namespace,
      name: `features.materialize.${e.table}`,
      facets: { jobType: jobTypeFacet('MATERIALIZATION') },
    },
    inputs: [source],
    outputs: [
      {
        namespace: e.onlineNamespace,
        name: e.table,
        facets: {
          columnLineage: columnLineageFacet(
            Object.fromEntries(
              e.features.map((f) => [
                f,
                [{ ...source, field: f, transformations: [{ type: 'DIRECT' as const, subtype: 'IDENTITY' }] }],
              ]),
            ),
          ),
        },
      },
    ],
  });
}
