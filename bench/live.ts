/**
 * A live mesh at a simulation speed: sources deliver every data hour, the scheduler runs each domain on its contract's
 * cron (pipeline, feature views, materialization). Per scheduled run that published, how long from the delivery of the
 * newest raw data it read to its rows in a published version and to its features online, in wall seconds; and the CPU
 * the live sources and the scheduler use, against the run's wall time (the baseline: one core).
 *
 *   npx tsx bench/live.ts [--speed 60] [--hours 3] [--scale 1] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { LiveMarketplace } from '../jobs/generate/live.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { loadSchedules } from '../jobs/schedule/definitions.js';
import { PipelineScheduler, type ScheduledWork } from '../jobs/schedule/scheduler.js';
import { applyFeatures, computeFeatures, createOnlineStore, materialize } from '../feature-subgraph/index.js';
import { currentManifest } from '../products/readers.js';
import { scheduledWork } from '../cli/commands/schedule.js';
import { table } from '../cli/format.js';
import { createMeshPlatform } from '../cli/platform.js';

const { values } = parseArgs({
  options: {
    speed: { type: 'string', default: '60' },
    hours: { type: 'string', default: '3' },
    scale: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const speed = Number(values.speed);
const END = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-live-'));
const platform = createMeshPlatform(
  loadConfig({
    ...process.env,
    MESH_DATA_DIR: dataDir,
    MESH_LOG_LEVEL: 'warn',
    MESH_SIMULATION_SPEED: String(speed),
    MESH_NOW: END,
    MESH_ONLINE_SQLITE: path.join(dataDir, 'online.sqlite'),
  }),
);
const domains = listDomains(platform.config.domainsDir);

const live = await LiveMarketplace.start(
  platform.store,
  { scale: Number(values.scale), seed: 42, days: 60, end: END },
  30,
);
for (const d of domains) await runDomainPipeline(platform, d);
await applyFeatures(platform);
await computeFeatures(platform, {});
const online = createOnlineStore(platform.config.online);
await materialize(platform, online, { incremental: true, end: new Date(platform.now()) });
await online.close();
say(`history of 60 days at scale ${values.scale} published; running live at ${speed}x for ${values.hours} data hours`);

const deliveries: { until: number; wallMs: number }[] = [];
const runs: { domain: string; latencyPublishedS: number; latencyOnlineS: number; steps: Record<string, number> }[] = [];
const work = scheduledWork(platform);
const measured: ScheduledWork = async (domain) => {
  const started = Date.now();
  const done = await work(domain);
  if (done.published) {
    const asOf = Date.parse((await currentManifest(platform, domain))!.asOf);
    const arrival = deliveries.find((d) => d.until === asOf)?.wallMs;
    const publishedAt = started + (done.steps.check ?? 0) + (done.steps.pipeline ?? 0);
    if (arrival !== undefined)
      runs.push({
        domain,
        latencyPublishedS: (publishedAt - arrival) / 1000,
        latencyOnlineS: (Date.now() - arrival) / 1000,
        steps: done.steps,
      });
  }
  return done;
};
const scheduler = new PipelineScheduler(platform, loadSchedules(domains), measured);
const cpu0 = process.cpuUsage();
const wall0 = Date.now();
scheduler.start();
const stopLive = live.drive(
  () => platform.now(),
  speed,
  platform.log,
  () => deliveries.push({ until: live.until, wallMs: Date.now() }),
);
const endAt = platform.now() + Number(values.hours) * 3_600_000;
while (platform.now() < endAt) await new Promise((r) => setTimeout(r, 500));
stopLive();
await scheduler.stop();
const cpu = process.cpuUsage(cpu0);
const wallMs = Date.now() - wall0;

const rows = domains.map((d) => {
  const mine = runs.filter((r) => r.domain === d.name);
  const p = (k: 'latencyPublishedS' | 'latencyOnlineS') => (mine.length ? Math.max(...mine.map((r) => r[k])) : NaN);
  return [d.name, mine.length, p('latencyPublishedS').toFixed(1), p('latencyOnlineS').toFixed(1)];
});
const cpuShare = (cpu.user + cpu.system) / 1000 / wallMs;
say(
  `\n${table(
    ['domain', 'runs that published', 'arrival → published, worst (s)', 'arrival → online, worst (s)'],
    rows,
  )}`,
);
say(
  `\n${deliveries.length} hourly deliveries; CPU of sources + scheduler + runs: ${(cpuShare * 100).toFixed(1)}% of ` +
    `one core over ${(wallMs / 1000).toFixed(0)} s (${os.cpus().length} cores)`,
);
if (values.json) {
  const figures = [
    ...rows
      .filter((r) => Number(r[1]) > 0)
      .flatMap((r) => [
        { name: `live.${r[0]}.arrival_to_published.s`, value: Number(r[2]), unit: 's' },
        { name: `live.${r[0]}.arrival_to_online.s`, value: Number(r[3]), unit: 's' },
      ]),
    { name: 'live.cpu.share_of_one_core', value: Number(cpuShare.toFixed(3)), unit: 'ratio', baseline: 1 },
  ];
  process.stdout.write(`${JSON.stringify({ figures })}\n`);
}
fs.rmSync(dataDir, { recursive: true, force: true });
