import { Command } from 'commander';
import { listDomains, loadConfig, migrateStoreToBuckets } from '../../platform/index.js';

export function registerStore(program: Command): void {
  const store = program.command('store').description('the object store');
  store
    .command('migrate')
    .description(
      'copy every object of MESH_S3_BUCKET into its domain bucket (MESH_S3_BUCKET_TEMPLATE), verify every copy, ' +
        'then switch over: processes configured with both use the buckets from their next start',
    )
    .requiredOption('--to-buckets', 'to a bucket per domain')
    .action(async () => {
      const config = loadConfig();
      const report = await migrateStoreToBuckets(
        config.store,
        listDomains(config.domainsDir).map((d) => d.name),
      );
      process.stdout.write(
        `✔ ${report.objects} objects in ${report.buckets.length} buckets (${report.buckets.join(', ')}): ` +
          `${report.copied} copied (${report.bytes} bytes), ${report.skipped} already there; every copy verified, ` +
          'switched over\n',
      );
    });
}
