import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { listDomains } from '../../platform/domains.js';
import { IDENTITY_HEADER, signInternalIdentity } from '../../platform/auth.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { trainRepurchase } from '../models/repurchase.js';
import { loadModel, predict } from '../models/model.js';
import { calibration, logLoss, rocAuc } from '../models/metrics.js';
import { applyFeatures, computeFeatures } from '../featureStore.js';
import { materialize } from '../materialize.js';
import { getHistoricalFeatures } from '../offline/historical.js';
import { SqliteOnlineStore } from '../online/index.js';
import { startFeatureServer } from '../server/featureServer.js';
import { openLineageValidator } from '../../platform/test/openLineage.js';
import { gql, tempDir, testPlatform } from '../../platform/test/helpers.js';

const END = '2026-11-01T00:00:00.000Z';

/** AUC as its definition says: the share of (positive, negative) pairs the scores order rightly, a tie half. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let right = 0;
  let pairs = 0;
  scores.forEach((p, i) =>
    scores.forEach((n, j) => {
      if (labels[i] !== 1 || labels[j] !== 0) return;
      pairs++;
      right += p > n ? 1 : p === n ? 0.5 : 0;
    }),
  );
  return right / pairs;
}

describe('model metrics and scores, against figures worked out by hand', () => {
  // Positives score 0.9, 0.7, 0.6; negatives 0.8, 0.4, 0.3: of 9 pairs, 0.9 wins 3, 0.7 and 0.6 two each.
  const scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3];
  const labels = [1, 0, 1, 1, 0, 0];

  it('AUC: 7 of 9 pairs on the hand-made set; 1, 0 and 0.5 at the extremes; ties count half', () => {
    expect(rocAuc(scores, labels)).toBeCloseTo(7 / 9, 15);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // 0.5 positive tied with the 0.5 negative: half a pair; of 4 pairs 2.5 right.
    expect(rocAuc([0.5, 0.5, 0.9, 0.1], [1, 0, 1, 0])).toBe(3.5 / 4);
    expect(rocAuc([0.2, 0.3], [1, 1])).toBeNaN();
  });

  it('AUC equals counting pairs on any set with both classes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 2, maxLength: 60 }),
        (rows) => {
          const labels = rows.map(([, y]) => (y ? 1 : 0));
          fc.pre(labels.includes(0) && labels.includes(1));
          const scores = rows.map(([s]) => s / 20);
          expect(rocAuc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
        },
      ),
      { seed: 39, numRuns: 300 },
    );
  });

  it('log loss: the mean of -ln p for positives and -ln(1 - p) for negatives, a certain miss capped at 1e-12', () => {
    // -(ln 0.9 + ln 0.2 + ln 0.7 + ln 0.6 + ln 0.6 + ln 0.7) / 6, from a table of logarithms:
    // (0.1053605 + 1.6094379 + 0.3566749 + 0.5108256 + 0.5108256 + 0.3566749) / 6 = 0.5749666
    expect(logLoss(scores, labels)).toBeCloseTo(0.5749666, 6);
    expect(logLoss([1, 0], [1, 0])).toBeCloseTo(0, 15);
    // ln(1e-12) = -27.6310211: a certain miss costs that, not infinity.
    expect(logLoss([0, 0.5], [1, 1])).toBeCloseTo((27.6310211 + 0.6931472) / 2, 6);
  });

  it('calibration: mean predicted against observed rate per tenth, ECE their weighted gap', () => {
    // Bins [0.9, 1): 0.9 (1); [0.8, 0.9): 0.8 (0); [0.7, 0.8): 0.7 (1); [0.6, 0.7): 0.6 (1); [0.4, 0.5): 0.4 (0);
    // [0.3, 0.4): 0.3 (0). Gaps 0.1, 0.8, 0.3, 0.4, 0.4, 0.3, each of weight 1/6: ECE = 2.3 / 6.
    const { bins, ece } = calibration(scores, labels);
    expect(bins.map((b) => [b.from, b.count, b.observed])).toEqual([
      [0.3, 1, 0],
      [0.4, 1, 0],
      [0.6, 1, 1],
      [0.7, 1, 1],
      [0.8, 1, 0],
      [0.9, 1, 1],
    ]);
    expect(ece).toBeCloseTo(2.3 / 6, 12);
  });

  it('a score is the logistic function of the intercept and standardised values, a missing value at its mean', () => {
    const model = {
      features: [
        { ref: 'v:a', name: 'a', mean: 1, std: 2 },
        { ref: 'v:b', name: 'b', mean: 10, std: 5 },
      ],
      weights: [0.5, 2, -1],
    };
    // z = 0.5 + 2 * (3 - 1) / 2 - 1 * 0 = 2.5; 1 / (1 + e^-2.5) = 0.9241418
    expect(predict(model, [3, null])).toBeCloseTo(0.9241418, 7);
    // z = 0.5 + 2 * 0 - 1 * (20 - 10) / 5 = -1.5; 1 / (1 + e^1.5) = 0.1824255
    expect(predict(model, [undefined, 20])).toBeCloseTo(0.1824255, 7);
    expect(predict(model, [Number.NaN, 10])).toBeCloseTo(0.6224593, 7);
  });
});

describe('mesh train', () => {
  it(
    'trains on a 4-domain service with a time-based holdout, stores the model with lineage, and scores online like ' +
      'offline',
    async () => {
      const platform = testPlatform();
      await generateMarketplace(platform.store, { scale: 0.2, seed: 5, days: 120, end: END });
      for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
      await applyFeatures(platform);
      await computeFeatures(platform);
      const model = await trainRepurchase(platform, { warmupDays: 14, gapDays: 14 });

      expect(model).toMatchObject({ name: 'repurchase', version: 1, service: 'customer_repurchase@v1' });
      expect(model.features).toHaveLength(18);
      expect(new Set(model.features.map((f) => f.ref.split('@')[0]))).toEqual(
        new Set(['customer_orders', 'customer_delivery', 'customer_payments', 'customer_campaigns']),
      );
      expect(model.split.trainUntil < model.split.testFrom).toBe(true);
      for (const m of [model.metrics.train, model.metrics.test, model.metrics.baseline.test]) {
        expect(m.rows).toBeGreaterThan(500);
        expect(m.auc).toBeGreaterThan(0);
        expect(m.auc).toBeLessThan(1);
        expect(m.logLoss).toBeGreaterThan(0);
        expect(m.calibration.reduce((n, b) => n + b.count, 0)).toBe(m.rows);
      }
      expect(model.metrics.baseline.service).toBe('customer_repurchase_sales_only@v1');
      // On this fixed seed, what the other domains add shows: the 4-domain model ranks better than the sales-only one.
      expect(
        model.metrics.test.auc,
        `4 domains ${model.metrics.test.auc}, sales only ${model.metrics.baseline.test.auc}`,
      ).toBeGreaterThan(model.metrics.baseline.test.auc + 0.01);
      expect((await loadModel(platform.store, 'repurchase')).weights).toEqual(model.weights);

      const training = platform.lineage.events.filter((e) => e.job.name === 'train.repurchase');
      expect(training).toHaveLength(1);
      expect(training.flatMap(openLineageValidator())).toEqual([]);
      // The model's score is computed from each feature it was trained on: a column-lineage edge per feature.
      const stored = training[0]!.outputs.find((o) => o.name === 'models.repurchase@v1');
      const lineage = stored?.facets?.columnLineage as
        | { fields: Record<string, { inputFields: object[] }> }
        | undefined;
      expect(lineage?.fields.score?.inputFields).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'features.customer_delivery@v1', field: 'late_delivery_rate_90d' }),
        ]),
      );

      // Online scoring reads the same values the model would get offline at the materialization time.
      const online = new SqliteOnlineStore(path.join(tempDir(), 'online.sqlite'));
      await materialize(platform, online, { start: new Date(0), end: new Date(END) });
      const server = await startFeatureServer(platform, { port: 0, online });
      try {
        const customers = ['c-0000001', 'c-0000002', 'c-0000003', 'c-0000004', 'c-0000005'];
        const res = await gql<{ _entities: { modelScore: { score: number; missing: number; version: number } }[] }>(
          server.url,
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { modelScore(model: "repurchase") ' +
            '{ score missing version } } } }',
          { r: customers.map((id) => ({ __typename: 'Customer', id })) },
          {
            [IDENTITY_HEADER]: await signInternalIdentity(
              { sub: 't', role: 'ml-engineer' },
              platform.config.auth,
              'features',
            ),
          },
        );
        expect(res.body.errors).toBeUndefined();
        const file = path.join(tempDir(), 'at.csv');
        fs.writeFileSync(file, `customer_id,event_timestamp\n${customers.map((c) => `${c},${END}`).join('\n')}\n`);
        const offline = await getHistoricalFeatures(platform, {
          entities: file,
          service: 'customer_repurchase',
          fullFeatureNames: true,
        });
        customers.forEach((_, i) => {
          // Worked out apart from predict: the logistic function of the stored weights over standardised values.
          const z = model.features.reduce((sum, f, k) => {
            const v = offline[i]![f.name] as number | null;
            return sum + (model.weights[k + 1]! * ((v ?? f.mean) - f.mean)) / f.std;
          }, model.weights[0]!);
          const expected = 1 / (1 + Math.exp(-z));
          expect(res.body.data!._entities[i]!.modelScore.score).toBeCloseTo(expected, 12);
          expect(res.body.data!._entities[i]!.modelScore.version).toBe(1);
        });
      } finally {
        await server.close();
        await online.close();
      }
    },
  );
});
