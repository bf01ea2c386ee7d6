import { Command } from 'commander';
import { createPlatform } from '../../context.js';
import { Progress } from '../../progress.js';
import { generateMarketplace, DEFAULT_GENERATE, extractManifestKey, GENERATED_DOMAINS } from '../../../jobs/generate/index.js';
import { generateSummary } from './generate.js';
import { runAndSummarize } from './run.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('bring the mesh up on embedded defaults: generate sources if absent, run every pipeline')
    .action(async () => {
      const platform = createPlatform();
      const present = await Promise.all(GENERATED_DOMAINS.map((d) => platform.store.head(extractManifestKey(d))));
      if (present.some((p) => p === undefined)) {
        process.stderr.write(`No raw sources in ${platform.store.url}: generating them (seed ${DEFAULT_GENERATE.seed}, scale ${DEFAULT_GENERATE.scale}).\n`);
        const report = await generateMarketplace(platform.store, DEFAULT_GENERATE, new Progress());
        process.stdout.write(`${generateSummary(report, platform.store.url)}\n`);
      }
      await runAndSummarize(platform, []);
      process.stdout.write(`\nCurated data products are in ${platform.store.url}. Try: npx mesh quality sales\n`);
    });
}
