// The stream consumer of bench/stream.ts, in a process of its own as a scheduler would be: what `mesh schedule` runs
// for a stream-fed domain (micro-batches under the domain's lease), without the contracts' cron ticks, so the figures
// are the stream's alone. Environment as `mesh schedule` reads it (MESH_STREAM_URL, MESH_STREAM_INTERVAL_SECONDS, ...).
import { loadConfig } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { PipelineScheduler } from '../jobs/schedule/scheduler.js';
import { streamFeeds } from '../jobs/pipeline/streamBatch.js';
import { microBatchWork } from '../cli/commands/schedule.js';
import { createMeshPlatform } from '../cli/platform.js';

const platform = createMeshPlatform(loadConfig());
const domains = listDomains(platform.config.domainsDir);
const scheduler = new PipelineScheduler(platform, [], async () => ({ steps: {} }), {
  microBatches: { feeds: streamFeeds(platform, domains), work: microBatchWork(platform) },
});
scheduler.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void scheduler.stop().then(() => process.exit(0));
});
