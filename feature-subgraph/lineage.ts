import {
  columnLineageFacet,
  jobOwnershipFacet,
  jobTypeFacet,
  runEvent,
  schemaFacet,
  type InputField,
  type RunEvent,
} from '../platform/index.js';
import { curatedName, featureTableName } from '../products/index.js';

/** OpenLineage events of feature computation and materialization, sent through the platform's lineage port. */

/** Curated columns a feature view's SQL reads: the datasets it names, and their columns that appear in it. */
export function featureInputs(
  sql: string,
  storeNamespace: string,
  datasets: { domain: string; dataset: string; columns: string[] }[],
): InputField[] {
  const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
  return datasets
    .filter((d) => new RegExp(`\\b${d.domain}\\.${d.dataset}\\b`).test(sql))
    .flatMap((d) =>
      d.columns
        .filter((c) => words.has(c))
        .map((c) => ({
          namespace: storeNamespace,
          name: curatedName(d.domain, d.dataset),
          field: c,
          transformations: [{ type: 'INDIRECT' as const, subtype: 'AGGREGATION' }],
        })),
    );
}

export function featureComputeEvent(e: {
  namespace: string;
  storeNamespace: string;
  table: string;
  domain: string;
  owner: string;
  columns: string[];
  inputs: InputField[];
}): RunEvent {
  const byDataset = [...new Set(e.inputs.map((i) => i.name))];
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
          columnLineage: columnLineageFacet(Object.fromEntries(e.columns.map((c) => [c, e.inputs]))),
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
