import { Command } from 'commander';
import { table } from '../format.js';
import { costAllocation, DEFAULT_PRICES } from '../../observability/index.js';
import { createOnlineStore } from '../../feature-subgraph/index.js';
import { createMeshPlatform } from '../platform.js';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0)) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};

export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('cost per domain: storage by layer, job compute, queries served, online store; with unit prices')
    .option('--since <iso>', 'count jobs and queries since (default: 30 days ago)')
    .option(
      '--storage-gb-month <usd>',
      'price of object storage',
      num('--storage-gb-month'),
      DEFAULT_PRICES.storageGbMonth,
    )
    .option('--compute-hour <usd>', 'price of job compute', num('--compute-hour'), DEFAULT_PRICES.computeHour)
    .option(
      '--operations-1k <usd>',
      'price of 1,000 gateway operations',
      num('--operations-1k'),
      DEFAULT_PRICES.operations1k,
    )
    .option(
      '--online-gb-month <usd>',
      'price of online store memory',
      num('--online-gb-month'),
      DEFAULT_PRICES.onlineGbMonth,
    )
    .option('--json', 'as JSON')
    .action(
      async (o: {
        since?: string;
        storageGbMonth: number;
        computeHour: number;
        operations1k: number;
        onlineGbMonth: number;
        json?: boolean;
      }) => {
        const platform = createMeshPlatform();
        const online = createOnlineStore(platform.config.online);
        try {
          const since = o.since ? new Date(o.since) : new Date(Date.now() - 30 * 86_400_000);
          const rows = await costAllocation(platform, {
            since,
            online,
            prices: {
              storageGbMonth: o.storageGbMonth,
              computeHour: o.computeHour,
              operations1k: o.operations1k,
              onlineGbMonth: o.onlineGbMonth,
            },
          });
          if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          const mb = (b: number) => (b / 1024 ** 2).toFixed(2);
          const usd = (x: number) => `$${x.toFixed(4)}`;
          process.stdout.write(
            `${table(
              [
                'domain',
                'storage MB (by layer)',
                'compute s',
                'operations',
                'online keys',
                'online MB',
                'storage',
                'compute',
                'queries',
                'online',
                'total',
              ],
              rows.map((r) => [
                r.domain,
                Object.entries(r.storageBytes)
                  .map(([l, b]) => `${l} ${mb(b)}`)
                  .join(', '),
                r.computeSeconds.toFixed(1),
                r.operations,
                r.onlineKeys,
                mb(r.onlineBytes),
                usd(r.cost.storage),
                usd(r.cost.compute),
                usd(r.cost.queries),
                usd(r.cost.online),
                usd(r.cost.total),
              ]),
            )}\nsince ${since.toISOString()}; prices: storage $${o.storageGbMonth}/GB-month, compute ` +
              `$${o.computeHour}/h, $${o.operations1k}/1k operations, online $${o.onlineGbMonth}/GB-month\n`,
          );
        } finally {
          await online.close();
        }
      },
    );
}
