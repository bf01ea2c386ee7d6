import { Gauge, Pushgateway, Registry } from 'prom-client';
import { getJson, putJson, type ObjectStore, type Platform } from '../platform/index.js';
import { JOB_METRICS_PREFIX, jobMetricsKey } from './storeLayout.js';

/** One gauge sample a batch job reports about its last run. */
export interface JobSample {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

interface StoredJobMetrics {
  job: string;
  at: string;
  samples: JobSample[];
}

/**
 * Batch jobs end before any scrape: each writes its last run's gauges to the object store (one object per job, so
 * concurrent jobs never overwrite each other), where the gateway's /metrics exposes them, and pushes them to a
 * Pushgateway when MESH_PUSHGATEWAY_URL is set. Pushgateway semantics: the last value per job, not a counter.
 */
export async function reportJobMetrics(platform: Platform, job: string, samples: JobSample[]): Promise<void> {
  const deps = { store: platform.store, log: platform.log, pushgatewayUrl: platform.config.pushgatewayUrl };
  const stored: StoredJobMetrics = { job, at: new Date().toISOString(), samples };
  await putJson(deps.store, jobMetricsKey(job), stored, { layer: 'platform', 'data-product': 'metrics' }).catch(
    (err: unknown) => deps.log.warn({ job, err: (err as Error).message }, 'could not store job metrics'),
  );
  if (!deps.pushgatewayUrl) return;
  try {
    // prom-client's Pushgateway resolves with the response whatever its status; a refused push is only a warning.
    const { resp } = (await new Pushgateway(deps.pushgatewayUrl, { timeout: 5000 }, toRegistry(samples)).push({
      jobName: job,
    })) as { resp?: { statusCode?: number } };
    if (resp?.statusCode && resp.statusCode >= 300)
      deps.log.warn({ job, status: resp.statusCode }, 'Pushgateway refused the job metrics');
  } catch (err) {
    deps.log.warn({ job, err: (err as Error).message }, 'could not push job metrics');
  }
}

/** What every job reports about its run: when it ended, whether it succeeded, how long it took. */
export function jobRunSamples(
  job: string,
  run: { finishedAt: Date; durationMs: number; ok: boolean },
  labels: Record<string, string> = {},
): JobSample[] {
  const l = { mesh_job: job, ...labels };
  return [
    {
      name: 'mesh_job_last_run_timestamp_seconds',
      help: 'When the last run of the job ended',
      labels: l,
      value: run.finishedAt.getTime() / 1000,
    },
    {
      name: 'mesh_job_last_run_success',
      help: 'Whether the last run of the job succeeded (1) or failed (0)',
      labels: l,
      value: run.ok ? 1 : 0,
    },
    {
      name: 'mesh_job_duration_seconds',
      help: 'Duration of the last run of the job',
      labels: l,
      value: run.durationMs / 1000,
    },
  ];
}

/** Every job's last reported samples, as Prometheus text (one family per metric name across jobs). */
export async function jobMetricsText(store: ObjectStore): Promise<string> {
  const objects = await store.list(JOB_METRICS_PREFIX);
  const stored = await Promise.all(objects.map((o) => getJson<StoredJobMetrics>(store, o.key)));
  return toRegistry(stored.flatMap((s) => s?.samples ?? [])).metrics();
}

function toRegistry(samples: JobSample[]): Registry {
  const registry = new Registry();
  const gauges = new Map<string, Gauge>();
  for (const s of samples) {
    let g = gauges.get(s.name);
    if (!g)
      gauges.set(
        s.name,
        (g = new Gauge({ name: s.name, help: s.help, labelNames: Object.keys(s.labels), registers: [registry] })),
      );
    g.set(s.labels, s.value);
  }
  return registry;
}
