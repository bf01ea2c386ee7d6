import fs from 'node:fs';
import path from 'node:path';
import { Matrix } from 'ml-matrix';
import LogisticRegression from 'ml-logistic-regression';
import {
  Duck,
  readParquet,
  sqlString,
  MeshError,
  ErrorCode,
  columnLineageFacet,
  jobTypeFacet,
  runEvent,
  type Platform,
} from '../../platform/index.js';
import { curatedDatasetPaths, currentManifest, curatedName, featureTableName } from '../../products/index.js';
import { writeTrainingSet } from '../offline/historical.js';
import { findService, loadRegistry, resolveFeatures } from '../registry.js';
import { calibration, logLoss, rocAuc } from './metrics.js';
import { predict, saveModel, type ModelMetrics, type StoredModel } from './model.js';

export interface TrainOptions {
  service?: string;
  baseline?: string;
  horizonDays?: number;
  /** Days of history before the first entity row, so that rolling windows have filled. */
  warmupDays?: number;
  strideDays?: number;
  gapDays?: number;
  holdoutFraction?: number;
  numSteps?: number;
}

const DAY = 86_400_000;

/**
 * "Does a customer order again within 30 days?": entity rows every few days per customer, labelled from sales orders
 * after the row's time; point-in-time features from a feature service; a logistic regression (ml-logistic-regression)
 * trained on the earlier rows and evaluated on later ones after a gap as long as the label horizon, against the same
 * model on a single-domain baseline service.
 */
export async function trainRepurchase(platform: Platform, options: TrainOptions = {}): Promise<StoredModel> {
  const o = {
    service: 'customer_repurchase',
    baseline: 'customer_repurchase_sales_only',
    horizonDays: 30,
    warmupDays: 30,
    strideDays: 3,
    gapDays: 30,
    holdoutFraction: 0.3,
    numSteps: 100,
    ...options,
  };
  fs.mkdirSync(platform.config.tmpDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(platform.config.tmpDir, 'train-'));
  const duck = await Duck.open({ ...platform.config.duckdb, tempDirectory: path.join(dir, 'duckdb') });
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    const asOf = (await currentManifest(platform, 'sales'))?.asOf;
    if (!asOf) throw new MeshError(ErrorCode.NOT_FOUND, 'no curated sales data: run npx mesh run');
    const [orders, customers] = [
      await curatedDatasetPaths(platform, 'sales', 'orders'),
      await curatedDatasetPaths(platform, 'sales', 'customers'),
    ];
    const entities = path.join(dir, 'entities.parquet');
    await duck.run(`
      COPY (
        WITH bounds AS (SELECT date_trunc('day', min(placed_at)) + INTERVAL ${o.warmupDays} DAY AS lo,
          TIMESTAMP ${sqlString(asOf.replace('T', ' ').replace('Z', ''))} - INTERVAL ${o.horizonDays} DAY AS hi
            FROM ${readParquet(orders)}),
             times AS (SELECT unnest(generate_series(lo, hi, INTERVAL ${o.strideDays} DAY)) AS t FROM bounds),
             rows AS (SELECT c.customer_id, t.t AS event_timestamp FROM ${readParquet(customers)} c JOIN times t ON
               coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01') < t.t)
        SELECT r.customer_id, r.event_timestamp,
          CASE WHEN EXISTS (SELECT 1 FROM ${readParquet(orders)} o WHERE o.customer_id = r.customer_id AND
            o.cancelled_at IS NULL AND o.placed_at > r.event_timestamp AND o.placed_at <= r.event_timestamp +
              INTERVAL ${o.horizonDays} DAY) THEN 1 ELSE 0 END AS label
        FROM rows r ORDER BY r.event_timestamp, r.customer_id
      ) TO ${sqlString(entities)} (FORMAT parquet)`);
    const registry = await loadRegistry(platform.store);
    const fit = async (service: string) => {
      const out = path.join(dir, `${service}.parquet`);
      await writeTrainingSet(platform, { entities, service, fullFeatureNames: true, out });
      const rows = await duck.all(
        `SELECT epoch_ms(event_timestamp)::DOUBLE AS t, * EXCLUDE (customer_id, event_timestamp) FROM
          read_parquet(${sqlString(out)})`,
      );
      const resolved = resolveFeatures(registry, { service, fullFeatureNames: true });
      const refs = resolved.views.flatMap((v) => v.features.map((f) => `${v.view.name}@v${v.view.version}:${f.name}`));
      return { rows, names: resolved.names, refs, serviceRef: `${service}@v${findService(registry, service).version}` };
    };
    const main = await fit(o.service);
    const baseline = await fit(o.baseline);

    const times = [...new Set(main.rows.map((r) => r.t as number))].sort((a, b) => a - b);
    if (times.length < 4)
      throw new MeshError(
        ErrorCode.BAD_USER_INPUT,
        `too little history to train: ${times.length} snapshot times (need data spanning more ` +
          `than ${o.horizonDays + o.gapDays + 14} days)`,
      );
    const testFrom = times[Math.floor(times.length * (1 - o.holdoutFraction))]!;
    const trainUntil = testFrom - o.gapDays * DAY;
    const split = (rows: Record<string, unknown>[]) => ({
      train: rows.filter((r) => (r.t as number) < trainUntil),
      test: rows.filter((r) => (r.t as number) >= testFrom),
    });
    const model = train(split(main.rows), main.names, main.refs, o.numSteps);
    const base = train(split(baseline.rows), baseline.names, baseline.refs, o.numSteps);

    const stored = await saveModel(platform.store, {
      name: 'repurchase',
      createdAt: new Date().toISOString(),
      service: main.serviceRef,
      label: `orders again within ${o.horizonDays} days`,
      features: model.features,
      weights: model.weights,
      metrics: { train: model.train, test: model.test, baseline: { service: baseline.serviceRef, test: base.test } },
      split: {
        trainUntil: new Date(trainUntil).toISOString(),
        testFrom: new Date(testFrom).toISOString(),
        testUntil: new Date(times.at(-1)!).toISOString(),
        gapDays: o.gapDays,
      },
    });
    const views = resolveFeatures(registry, { service: o.service }).views.map(
      (v) => `${v.view.name}@v${v.view.version}`,
    );
    const inputs = [
      ...views.map((t) => ({ namespace: platform.lineage.storeNamespace, name: featureTableName(t) })),
      { namespace: platform.lineage.storeNamespace, name: curatedName('sales', 'orders') },
    ];
    platform.lineage.emit(
      runEvent({
        eventType: 'COMPLETE',
        job: {
          namespace: platform.lineage.namespace,
          name: 'train.repurchase',
          facets: { jobType: jobTypeFacet('MODEL_TRAINING') },
        },
        inputs,
        outputs: [
          {
            namespace: platform.lineage.storeNamespace,
            name: `models.repurchase@v${stored.version}`,
            facets: {
              columnLineage: columnLineageFacet({
                score: stored.features.map((f) => {
                  const [table, feature] = f.ref.split(':');
                  return {
                    namespace: platform.lineage.storeNamespace,
                    name: featureTableName(table!),
                    field: feature!,
                    transformations: [
                      { type: 'INDIRECT' as const, subtype: 'TRANSFORMATION', description: 'logistic regression' },
                    ],
                  };
                }),
                label: [
                  {
                    namespace: platform.lineage.storeNamespace,
                    name: curatedName('sales', 'orders'),
                    field: 'placed_at',
                    transformations: [{ type: 'INDIRECT' as const, subtype: 'AGGREGATION' }],
                  },
                ],
              }),
            },
          },
        ],
      }),
    );
    return stored;
  } finally {
    duck.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function train(
  data: { train: Record<string, unknown>[]; test: Record<string, unknown>[] },
  names: string[],
  refs: string[],
  numSteps: number,
) {
  const column = (rows: Record<string, unknown>[], n: string) =>
    rows.map((r) => (r[n] === null || r[n] === undefined ? null : Number(r[n])));
  const features = names.map((name, i) => {
    const xs = column(data.train, name).filter((x): x is number => x !== null && !Number.isNaN(x));
    const mean = xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(xs.length, 1)) || 1;
    return { ref: refs[i]!, name, mean, std };
  });
  const matrix = (rows: Record<string, unknown>[]) =>
    new Matrix(
      rows.map((r) => [
        1,
        ...features.map(
          (f) => ((r[f.name] === null || r[f.name] === undefined ? f.mean : Number(r[f.name])) - f.mean) / f.std,
        ),
      ]),
    );
  const labels = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.label));
  const lr = new LogisticRegression({ numSteps, learningRate: 1 / data.train.length });
  lr.train(matrix(data.train), Matrix.columnVector(labels(data.train)));
  // The library trains one-vs-all; its first classifier scores "not class 0", i.e. P(label = 1).
  const weights = lr.classifiers[0]!.weights.to1DArray();
  const evaluate = (rows: Record<string, unknown>[]): ModelMetrics => {
    const ys = labels(rows);
    const ps = rows.map((r) =>
      predict(
        { features, weights },
        features.map((f) => (r[f.name] === null ? null : Number(r[f.name]))),
      ),
    );
    const cal = calibration(ps, ys);
    return {
      auc: rocAuc(ps, ys),
      logLoss: logLoss(ps, ys),
      ece: cal.ece,
      calibration: cal.bins,
      positiveRate: ys.reduce((a, b) => a + b, 0) / ys.length,
      rows: rows.length,
    };
  };
  return { features, weights, train: evaluate(data.train), test: evaluate(data.test) };
}
