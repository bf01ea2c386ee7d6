import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listDomains } from '../../platform/domains.js';
import { IDENTITY_HEADER, signInternalIdentity } from '../../platform/auth.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { trainRepurchase } from '../models/repurchase.js';
import { loadModel, predict } from '../models/model.js';
import { rocAuc } from '../models/metrics.js';
import { applyFeatures, computeFeatures } from '../featureStore.js';
import { materialize } from '../materialize.js';
import { getHistoricalFeatures } from '../offline/historical.js';
import { SqliteOnlineStore } from '../online/index.js';
import { startFeatureServer } from '../server/featureServer.js';
import { openLineageValidator } from '../../platform/test/openLineage.js';
import { gql, tempDir, testPlatform } from '../../platform/test/helpers.js';

const END = '2026-11-01T00:00:00.000Z';

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0.5 for ties, and averages tied ranks', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
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
          const expected = predict(
            model,
            model.features.map((f) => offline[i]![f.name] as number | null),
          );
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
