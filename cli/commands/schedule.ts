import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { type MeshPlatform } from '../../lineage/index.js';
import { listDomains, selectDomains, formatMs, writeAtomic } from '../../platform/index.js';
import { loadContract } from '../../governance/index.js';
import {
  airflowDags,
  loadPipeline,
  loadSchedules,
  PipelineScheduler,
  runDomainPipeline,
  scheduleStatus,
  setPaused,
  streamFeeds,
  streamedValues,
  unchangedVersion,
  type MicroBatchWork,
  type ScheduledWork,
} from '../../jobs/index.js';
import {
  computeFeatures,
  createOnlineStore,
  loadRegistry,
  materialize,
  pushStreamFeatures,
  pushViews,
  tableId,
  viewsReading,
  type ViewVersion,
} from '../../feature-subgraph/index.js';
import { dateOption, table } from '../format.js';
import { createMeshPlatform } from '../platform.js';
import { operator } from '../publisher.js';

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      "run every domain's pipeline on its contract's schedule, then its feature views and materialization (the " +
        'embedded scheduler)',
    )
    .option('--concurrency <n>', 'most runs at once', Number, 1)
    .action(async (o: { concurrency: number }) => {
      const platform = createMeshPlatform();
      const scheduler = startScheduler(platform, { concurrency: o.concurrency });
      process.stdout.write(
        `Scheduler running (${o.concurrency} at a time); Ctrl-C stops it after the runs in flight.\n`,
      );
      const stop = () => void scheduler.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  schedule
    .command('status')
    .description(
      'per domain: schedule, paused or the instance running it, last run (outcome, duration), next run, watermark',
    )
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }) => {
      const platform = createMeshPlatform();
      const status = await scheduleStatus(platform, loadSchedules(listDomains(platform.config.domainsDir)));
      if (o.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      process.stdout.write(
        `${table(
          [
            'domain',
            'schedule (UTC)',
            'state',
            'last run',
            'outcome',
            'duration',
            'next run',
            'watermark',
            'raw files read',
            'ok / failed',
          ],
          status.map((s) => [
            s.domain,
            s.cron,
            s.paused
              ? `paused since ${s.paused.since.slice(0, 16)}`
              : s.runningOn
                ? `running on ${s.runningOn}`
                : 'active',
            s.lastRun?.startedAt.slice(0, 19) ?? '—',
            s.lastRun
              ? s.lastRun.outcome +
                (s.lastRun.published === false ? ', nothing new' : '') +
                (s.lastRun.attempts > 1 ? ` (${s.lastRun.attempts} attempts)` : '') +
                (s.lastRun.error ? `: ${s.lastRun.error.code}` : '')
              : '—',
            s.lastRun?.durationMs !== undefined ? formatMs(s.lastRun.durationMs) : '—',
            s.nextRun?.slice(0, 16) ?? '—',
            s.watermark?.slice(0, 19) ?? '—',
            s.rawFilesRead ?? '—',
            `${s.succeeded} / ${s.failed}`,
          ]),
        )}\n`,
      );
    });

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    schedule
      .command(verb)
      .description(
        paused
          ? "stop running a domain's pipeline on schedule (a running scheduler sees it before its next run)"
          : "run a paused domain's pipeline on schedule again",
      )
      .argument('<domain>')
      .action(async (domain: string) => {
        const platform = createMeshPlatform();
        selectDomains(platform.config.domainsDir, [domain]);
        await setPaused(platform, domain, paused, operator());
        process.stdout.write(`${domain}: ${paused ? 'paused' : 'resumed'}\n`);
      });
  }

  schedule
    .command('run')
    .description(
      'run a domain now as the scheduler does (pipeline, feature views, materialization), recorded in its history',
    )
    .argument('<domain>')
    .action(async (domain: string) => {
      const platform = createMeshPlatform();
      const scheduler = new PipelineScheduler(
        platform,
        loadSchedules(selectDomains(platform.config.domainsDir, [domain])),
        scheduledWork(platform),
        { backoffMs: 5_000 },
      );
      const run = await scheduler.trigger(domain, 'manual');
      process.stdout.write(
        run
          ? `${domain}: ${run.outcome}${run.published === false ? ' (nothing new: the serving version stays)' : ''} ` +
              `in ${formatMs(run.durationMs ?? 0)} (${Object.entries(run.steps ?? {})
                .map(([k, v]) => `${k} ${formatMs(v)}`)
                .join(', ')})\n`
          : `${domain}: paused, not run\n`,
      );
      if (run?.outcome === 'failed') process.exitCode = 1;
    });

  schedule
    .command('backfill')
    .description(
      "run a domain's pipeline and feature views, then load the online store with the feature values of [from, to]",
    )
    .argument('<domain>')
    .requiredOption('--from <iso>', 'window start', dateOption('--from'))
    .requiredOption('--to <iso>', 'window end', dateOption('--to'))
    .action(async (domain: string, o: { from: Date; to: Date }) => {
      const platform = createMeshPlatform();
      const steps = await scheduledWork(platform, { start: o.from, end: o.to })(domain);
      process.stdout.write(
        `${domain}: backfilled ${o.from.toISOString()} → ${o.to.toISOString()} (${Object.entries(steps.steps)
          .map(([k, v]) => `${k} ${formatMs(v)}`)
          .join(', ')})\n`,
      );
    });

  schedule
    .command('airflow')
    .description(
      'write one Airflow DAG per domain from the same definitions (cron, owner, SLA, retries from each contract)',
    )
    .requiredOption('--out <dir>', 'folder for the DAG files')
    .option('--image <ref>', "the project's container image", 'marketplace-data-mesh:latest')
    .option('--k8s-namespace <name>', 'Kubernetes namespace of the task pods', 'mesh')
    .action((o: { out: string; image: string; k8sNamespace: string }) => {
      const platform = createMeshPlatform();
      const dags = airflowDags(loadSchedules(listDomains(platform.config.domainsDir)), {
        image: o.image,
        lineageNamespace: platform.config.lineage.namespace,
        kubernetesNamespace: o.k8sNamespace,
        secretEnv: [
          'MESH_STORE',
          'MESH_S3_BUCKET',
          'MESH_S3_ENDPOINT',
          'MESH_S3_PREFIX',
          'MESH_S3_REGION',
          'REDIS_URL',
          'OPENLINEAGE_URL',
          'OPENLINEAGE_API_KEY',
          'MESH_MASKING_KEY',
          'MESH_JWT_SECRET',
          'MESH_INTERNAL_SECRET',
          'AWS_ACCESS_KEY_ID',
          'AWS_SECRET_ACCESS_KEY',
        ],
      });
      fs.mkdirSync(o.out, { recursive: true });
      for (const [file, text] of Object.entries(dags)) writeAtomic(path.join(o.out, file), text);
      process.stdout.write(`${Object.keys(dags).length} DAG(s) in ${o.out}: ${Object.keys(dags).join(', ')}\n`);
    });
}

/** The embedded scheduler over every domain with a schedule, started. */
export function startScheduler(platform: MeshPlatform, options: { concurrency?: number } = {}): PipelineScheduler {
  const domains = listDomains(platform.config.domainsDir);
  const scheduler = new PipelineScheduler(platform, loadSchedules(domains), scheduledWork(platform), {
    ...options,
    microBatches: { feeds: streamFeeds(platform, domains), work: microBatchWork(platform) },
  });
  scheduler.start();
  return scheduler;
}

/** While its consumer lags, a domain's pushes wait at most this long, merged (newest values win either way). */
const PUSH_DEFER_MS = 30_000;

/** Pushes of a domain's micro-batches not made yet: per view, the entities named and the earliest event. */
interface WaitingPushes {
  since: number;
  views: Map<string, { view: ViewVersion; entities: Map<string, string[]>; earliest?: Date }>;
}

/**
 * A micro-batch of a stream-fed domain: its pipeline, then its push views for the entities the batch's events name
 * (the other feature views run on the contract's schedule). While the consumer lags (more is waiting on the stream),
 * pushes wait for the next batches, up to PUSH_DEFER_MS, and are made once for all of them: the data is published
 * first, and a push computes each entity's latest values from the newest version anyway. Waiting pushes live in this
 * process: one that dies leaves them to the view's scheduled materialization.
 */
export function microBatchWork(platform: MeshPlatform): MicroBatchWork {
  const waiting = new Map<string, WaitingPushes>();
  return async (domain, fence) => {
    const [info] = selectDomains(platform.config.domainsDir, [domain]);
    const run = await runDomainPipeline(platform, info!, { fence });
    const landedThrough = Math.max(0, ...(run.streamBatches ?? []).map((b) => b.last));
    const pending = waiting.get(domain) ?? { since: Date.now(), views: new Map() };
    const sources = run.streamed?.length ? loadPipeline(info!, loadContract(info!.contractFile, domain)).sources : [];
    for (const s of run.streamed ?? []) {
      const eventTime = sources.find((x) => x.name === s.source)?.eventTime;
      for (const view of await pushViews(platform, domain, s.source)) {
        const { values, earliest } = await streamedValues(platform, run, s.source, view.joinKeys, eventTime);
        const entry = pending.views.get(tableId(view)) ?? { view, entities: new Map<string, string[]>() };
        for (const v of values) entry.entities.set(v.join('\0'), v);
        if (earliest && (!entry.earliest || earliest < entry.earliest)) entry.earliest = earliest;
        pending.views.set(tableId(view), entry);
      }
    }
    if (pending.views.size === 0) return { landedThrough };
    const lagging = (run.streamBatches ?? []).some((b) => b.lag > 0);
    if (lagging && Date.now() - pending.since < PUSH_DEFER_MS) {
      waiting.set(domain, pending);
      return { landedThrough };
    }
    waiting.delete(domain);
    const online = createOnlineStore(platform.config.online);
    try {
      for (const { view, entities, earliest } of pending.views.values())
        await pushStreamFeatures(platform, online, view, [...entities.values()], earliest);
    } finally {
      await online.close();
    }
    return { landedThrough };
  };
}

/**
 * One scheduled run of a domain: its pipeline, the feature views that read it, then incremental materialization of
 * those views (or of a given window, for a backfill). When no raw object and no definition changed since the version
 * serving, nothing runs and nothing is published. Steps are timed for the run history.
 */
export function scheduledWork(platform: MeshPlatform, window?: { start: Date; end: Date }): ScheduledWork {
  return async (domain, context) => {
    const steps: Record<string, number> = {};
    const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
      const t = Date.now();
      try {
        return await work();
      } finally {
        steps[step] = Date.now() - t;
      }
    };
    const [info] = selectDomains(platform.config.domainsDir, [domain]);
    // Nothing new to read: the version serving is what a run would publish, and its features are computed from it. A
    // stream-fed domain always goes on: micro-batches published versions since its features were last computed.
    const streamed = streamFeeds(platform, [info!]).length > 0;
    const unchanged = streamed ? undefined : await timed('check', () => unchangedVersion(platform, info!));
    if (unchanged && !window) return { runId: unchanged.runId, steps, published: false };
    const run = unchanged
      ? { runId: unchanged.runId, unchanged: true }
      : await timed('pipeline', () => runDomainPipeline(platform, info!, { fence: context?.fence }));
    const published = !run.unchanged;
    const runId = run.runId;
    const views = viewsReading(await loadRegistry(platform.store), domain).map(tableId);
    if (views.length === 0) return { runId, steps, published };
    await timed('features', () => computeFeatures(platform, { views }));
    const online = createOnlineStore(platform.config.online);
    try {
      await timed('materialize', () =>
        materialize(
          platform,
          online,
          window
            ? { start: window.start, end: window.end, views }
            : { incremental: true, end: new Date(platform.now()), views },
        ),
      );
    } finally {
      await online.close();
    }
    return { runId, steps, published };
  };
}
