import { Command, InvalidArgumentError } from 'commander';
import { Progress, formatMs } from '../../platform/index.js';
import { generateMarketplace, streamPublisher, DEFAULT_GENERATE, type GenerateReport } from '../../jobs/index.js';
import { table } from '../format.js';
import { createMeshPlatform } from '../platform.js';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write raw source data for all five domains (deterministic for a seed; replaces existing raw data)')
    .option('--scale <n>', 'size: 1 = 2,000 customers; 50+ for benchmarks', num('--scale'), DEFAULT_GENERATE.scale)
    .option('--seed <n>', 'random seed', num('--seed'), DEFAULT_GENERATE.seed)
    .option('--days <n>', 'days of history', num('--days'), DEFAULT_GENERATE.days)
    .option('--end <iso>', 'extraction time: the end of the simulated window', DEFAULT_GENERATE.end)
    .action(async (o: { scale: number; seed: number; days: number; end: string }) => {
      const platform = createMeshPlatform();
      // With MESH_STREAM_URL, sales order events go to their stream; the other sources are files either way.
      const orderEvents = await streamPublisher(platform, 'sales', 'order_events');
      const report = await generateMarketplace(platform.store, o, new Progress(), orderEvents).finally(() =>
        orderEvents?.close(),
      );
      process.stdout.write(`${generateSummary(report, platform.store.url)}\n`);
    });
}

export function generateSummary(r: GenerateReport, url: string): string {
  const rows = r.sources.map((s) => [
    `${s.domain}/${s.source}`,
    s.files,
    s.lines,
    s.malformed,
    s.duplicates,
    s.late,
    s.nulls,
    s.outOfRange,
  ]);
  return [
    `Raw sources written to ${url} (seed ${r.options.seed}, scale ${r.options.scale}, ${r.options.days} days ` +
      `to ${r.asOf}) in ${formatMs(r.durationMs)}`,
    'Injected on purpose: malformed lines, duplicates, late arrivals, nulls in required fields, out-of-range values.',
    table(['source', 'files', 'lines', 'malformed', 'duplicates', 'late', 'nulls', 'out of range'], rows),
  ].join('\n');
}
