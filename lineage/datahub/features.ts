import { featureTableName } from '../../products/index.js';
import { tableId } from '../../feature-subgraph/index.js';
import type { Catalog, ViewFacts } from './catalog.js';
import type { Proposals } from './proposals.js';
import { onlineTables } from './pipelines.js';
import { ownership, schemaField, schemaMetadata, upstreamLineage } from './aspects.js';
import {
  dataJobUrn,
  datasetUrn,
  domainUrn,
  featureTableUrn,
  featureUrn,
  meshFlowUrn,
  modelGroupUrn,
  modelUrn,
  primaryKeyUrn,
} from './urns.js';

/** DataHub's feature data types for the store's: a count is a COUNT, a measure CONTINUOUS. */
const DATA_TYPE: Record<string, string> = { Int64: 'COUNT', Float64: 'CONTINUOUS', String: 'TEXT', Bool: 'BINARY' };

/**
 * The feature store as DataHub's own Feast source shows one: each view an mlFeatureTable with its mlFeatures and
 * mlPrimaryKeys, each sourced from the curated datasets its SQL reads, versions as version tags (not new tables);
 * the offline table of each computed version and each online table as datasets with their lineage; and each trained
 * model an mlModel (its features, metrics, hyperparameters and version) in an mlModelGroup, with its training job.
 */
export function describeFeatures(c: Catalog, p: Proposals): void {
  for (const [name, versions] of c.views) describeView(c, p, name, versions);
  describeModels(c, p);
}

function owners(c: Catalog, domain: string) {
  return c.domains.find((d) => d.info.name === domain)?.owners ?? [];
}

function describeView(c: Catalog, p: Proposals, name: string, versions: ViewFacts[]): void {
  const current = versions.at(-1)!;
  const view = current.version;
  const owned = ownership(owners(c, view.domain), c.stamp);
  const domains = { domains: [domainUrn(view.domain)] };
  const history = versions.map((v) => `v${v.version.version}`).join(', ');
  /** The curated datasets a column of the current version is computed from (or, for a count, decided by). */
  const sources = (column: string) => {
    const lineage = current.lineage;
    const edges = lineage?.columns.find((x) => x.name === column)?.edges ?? [];
    const used = edges.some((e) => e.type === 'DIRECT') ? edges.filter((e) => e.type === 'DIRECT') : edges;
    return [
      ...new Set([...used, ...(used.length ? [] : (lineage?.dataset ?? []))].map((e) => datasetUrn(e.table))),
    ].sort();
  };
  const keys = view.joinKeys.map((key) => primaryKeyUrn(name, key));
  view.joinKeys.forEach((key, i) => {
    p.add('mlPrimaryKey', keys[i]!, 'mlPrimaryKeyProperties', {
      description: `Join key of the ${name} feature view`,
      dataType: 'NOMINAL',
      version: { versionTag: String(view.version) },
      sources: sources(key),
    });
    p.add('mlPrimaryKey', keys[i]!, 'ownership', owned);
    p.add('mlPrimaryKey', keys[i]!, 'domains', domains);
  });
  // Every feature any version had, tagged with the latest version that has it: a model trained on an older version
  // still finds its features.
  const latest = new Map<string, ViewFacts['version']>();
  for (const v of versions) for (const f of v.version.features) latest.set(f.name, v.version);
  const features = [...latest.keys()].map((f) => featureUrn(name, f));
  for (const [feature, version] of latest) {
    const f = version.features.find((x) => x.name === feature)!;
    const urn = featureUrn(name, feature);
    p.add('mlFeature', urn, 'mlFeatureProperties', {
      description: f.description ?? '',
      dataType: DATA_TYPE[f.dtype] ?? 'UNKNOWN',
      version: { versionTag: String(version.version) },
      sources: version === view ? sources(feature) : [],
      customProperties: {
        dtype: f.dtype,
        reference: `${name}:${feature}`,
        versions: versions
          .filter((v) => v.version.features.some((x) => x.name === feature))
          .map((v) => `v${v.version.version}`)
          .join(', '),
      },
    });
    p.add('mlFeature', urn, 'ownership', owned);
    p.add('mlFeature', urn, 'domains', domains);
  }
  p.add('mlFeatureTable', featureTableUrn(name), 'mlFeatureTableProperties', {
    description: view.description,
    mlFeatures: features,
    mlPrimaryKeys: keys,
    customProperties: {
      version: String(view.version),
      versions: history,
      ttlSeconds: String(view.ttlSeconds),
      entities: view.entities.join(','),
      owner: view.owner,
      fingerprint: view.fingerprint,
    },
  });
  p.add('mlFeatureTable', featureTableUrn(name), 'ownership', owned);
  p.add('mlFeatureTable', featureTableUrn(name), 'domains', domains);

  // The tables lineage names: each computed version's offline table, and the online tables it was materialized into.
  for (const v of versions.filter((x) => x.computedAt)) {
    const table = featureTableName(tableId(v.version));
    const urn = datasetUrn(table);
    const columns = [...v.version.joinKeys, 'event_timestamp', ...v.version.features.map((f) => f.name)];
    p.add('dataset', urn, 'datasetProperties', {
      name: table,
      qualifiedName: table,
      description: `Offline table of the ${name} feature view, version ${v.version.version}`,
      customProperties: {
        layer: 'features',
        view: name,
        version: String(v.version.version),
        computedAt: v.computedAt!,
      },
    });
    p.add(
      'dataset',
      urn,
      'schemaMetadata',
      schemaMetadata(
        table,
        v.version.fingerprint,
        columns.map((col) => {
          const f = v.version.features.find((x) => x.name === col);
          return schemaField(col, f?.dtype ?? (col === 'event_timestamp' ? 'TIMESTAMP' : 'VARCHAR'), {
            description: f?.description,
            stamp: c.stamp,
          });
        }),
        columns.join(', '),
      ),
    );
    p.add('dataset', urn, 'subTypes', { typeNames: ['Feature Table'] });
    p.add('dataset', urn, 'domains', domains);
    p.add('dataset', urn, 'ownership', owned);
    if (v.lineage)
      p.add(
        'dataset',
        urn,
        'upstreamLineage',
        upstreamLineage(
          table,
          v.lineage.columns.map((col) => ({
            name: col.name,
            edges: col.edges.map((e) => ({ dataset: e.table, field: e.column, type: e.type, subtype: e.subtype })),
          })),
          v.lineage.dataset.map((e) => ({ dataset: e.table, field: e.column, type: e.type, subtype: e.subtype })),
          c.stamp,
        ),
      );
  }
  const online = onlineTables(c, versions);
  for (const table of [...new Set(online.map((o) => o.table))]) {
    const v = versions.find((x) => tableId(x.version) === table)!.version;
    const urn = datasetUrn(table);
    const offline = featureTableName(table);
    const columns = [...v.joinKeys, ...v.features.map((f) => f.name)];
    p.add('dataset', urn, 'datasetProperties', {
      name: table,
      qualifiedName: table,
      description: `Online table of the ${name} feature view, version ${v.version}: the latest value per entity`,
      customProperties: Object.fromEntries([
        ['layer', 'online'],
        ...online.filter((o) => o.table === table).map((o, i) => [`store${i + 1}`, `${o.store} (to ${o.watermark})`]),
      ]),
    });
    p.add(
      'dataset',
      urn,
      'schemaMetadata',
      schemaMetadata(
        table,
        v.fingerprint,
        columns.map((col) =>
          schemaField(col, v.features.find((f) => f.name === col)?.dtype ?? 'VARCHAR', { stamp: c.stamp }),
        ),
        columns.join(', '),
      ),
    );
    p.add('dataset', urn, 'subTypes', { typeNames: ['Online Store Table'] });
    p.add('dataset', urn, 'domains', domains);
    p.add('dataset', urn, 'ownership', owned);
    if (versions.some((x) => x.computedAt && tableId(x.version) === table))
      p.add(
        'dataset',
        urn,
        'upstreamLineage',
        upstreamLineage(
          table,
          v.features.map((f) => ({
            name: f.name,
            edges: [{ dataset: offline, field: f.name, type: 'DIRECT' as const, subtype: 'IDENTITY' }],
          })),
          [],
          c.stamp,
        ),
      );
  }
}

function describeModels(c: Catalog, p: Proposals): void {
  if (c.models.length === 0) return;
  const name = c.models[0]!.name;
  const group = modelGroupUrn(name);
  const flow = meshFlowUrn('models');
  const train = dataJobUrn(flow, `train_${name}`);
  const service = c.registry.services[c.models.at(-1)!.service.split('@')[0]!]?.at(-1);
  const owned = ownership(owners(c, service?.domain ?? 'sales'), c.stamp);
  p.add('dataFlow', flow, 'dataFlowInfo', {
    name: 'models',
    description: 'Models trained on federated features (npx mesh train)',
    project: 'mesh',
    env: 'PROD',
  });
  p.add('dataFlow', flow, 'ownership', owned);
  const read = [...new Set(c.models.flatMap((m) => m.features.map((f) => f.ref.split(':')[0]!)))].sort();
  p.add('dataJob', train, 'dataJobInfo', {
    name: `train ${name}`,
    description: `Builds the point-in-time training set from ${service?.name ?? 'its service'} and fits the model`,
    type: { string: 'COMMAND' },
    flowUrn: flow,
    env: 'PROD',
    status: 'COMPLETED',
  });
  p.add('dataJob', train, 'dataJobInputOutput', {
    inputDatasets: [
      ...read
        .filter((t) => c.views.get(t.split('@')[0]!)?.some((v) => v.computedAt && tableId(v.version) === t))
        .map((t) => datasetUrn(featureTableName(t))),
      datasetUrn('sales.orders'),
    ],
    outputDatasets: [],
  });
  p.add('dataJob', train, 'ownership', owned);
  p.add('mlModelGroup', group, 'mlModelGroupProperties', {
    name,
    description: `${name}: will a customer order again within 30 days`,
    version: { versionTag: String(c.models.at(-1)!.version) },
  });
  p.add('mlModelGroup', group, 'ownership', owned);
  for (const m of c.models) {
    const urn = modelUrn(`${m.name}@v${m.version}`);
    const test = m.metrics.test;
    p.add('mlModel', urn, 'mlModelProperties', {
      description: `Logistic regression on ${m.features.length} features of ${m.service}; label: ${m.label}`,
      date: Date.parse(m.createdAt),
      version: { versionTag: String(m.version) },
      type: 'logistic regression',
      hyperParams: [
        { name: 'algorithm', value: 'logistic regression' },
        { name: 'features', value: String(m.features.length) },
        { name: 'standardization', value: 'training mean and standard deviation' },
        { name: 'imputation', value: 'training mean' },
        { name: 'gapDays', value: String(m.split.gapDays) },
      ],
      trainingMetrics: [
        { name: 'auc', value: String(test.auc), description: 'ROC AUC on the holdout' },
        { name: 'logLoss', value: String(test.logLoss), description: 'log loss on the holdout' },
        { name: 'ece', value: String(test.ece), description: 'expected calibration error, 10 bins' },
        { name: 'baselineAuc', value: String(m.metrics.baseline.test.auc), description: m.metrics.baseline.service },
      ],
      mlFeatures: m.features.map((f) => {
        const [ref, feature] = f.ref.split(':');
        return featureUrn(ref!.split('@')[0]!, feature!);
      }),
      trainingJobs: [train],
      groups: [group],
      tags: [],
      customProperties: {
        service: m.service,
        label: m.label,
        trainUntil: m.split.trainUntil,
        testFrom: m.split.testFrom,
        testUntil: m.split.testUntil,
      },
    });
    p.add('mlModel', urn, 'ownership', owned);
  }
}
