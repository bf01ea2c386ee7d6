import { Command } from 'commander';
import { formatMs } from '../../platform/index.js';
import { table } from '../format.js';
import { trainRepurchase } from '../../feature-subgraph/index.js';
import { createMeshPlatform } from '../platform.js';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'train the repurchase model on a multi-domain feature service, evaluate it on a time-based holdout against a ' +
        'single-domain baseline, and store it',
    )
    .option('--service <name>', 'feature service', 'customer_repurchase')
    .option('--baseline <name>', 'single-domain baseline service', 'customer_repurchase_sales_only')
    .option('--json', 'the stored model as JSON')
    .action(async (o: { service: string; baseline: string; json?: boolean }) => {
      const started = Date.now();
      const model = await trainRepurchase(createMeshPlatform(), { service: o.service, baseline: o.baseline });
      if (o.json) return void process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
      const m = model.metrics;
      const f = (x: number) => x.toFixed(4);
      process.stdout.write(
        [
          `model repurchase v${model.version}: "${model.label}", trained ` +
            `on ${model.service} (${model.features.length} features) in ${formatMs(Date.now() - started)}`,
          `train until ${model.split.trainUntil}, ` +
            `test ${model.split.testFrom} … ${model.split.testUntil} (gap ${model.split.gapDays} days)`,
          table(
            ['', 'service', 'rows', 'positive rate', 'ROC AUC', 'log loss', 'ECE'],
            [
              [
                'train',
                model.service,
                m.train.rows,
                f(m.train.positiveRate),
                f(m.train.auc),
                f(m.train.logLoss),
                f(m.train.ece),
              ],
              [
                'test',
                model.service,
                m.test.rows,
                f(m.test.positiveRate),
                f(m.test.auc),
                f(m.test.logLoss),
                f(m.test.ece),
              ],
              [
                'test baseline',
                m.baseline.service,
                m.baseline.test.rows,
                f(m.baseline.test.positiveRate),
                f(m.baseline.test.auc),
                f(m.baseline.test.logLoss),
                f(m.baseline.test.ece),
              ],
            ],
          ),
          '',
        ].join('\n'),
      );
    });
}
