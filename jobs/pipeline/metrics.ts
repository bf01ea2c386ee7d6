import { jobRunSamples, type JobSample, type RunRecord } from '../../products/index.js';

/**
 * A pipeline run as gauges: records per source and stage, rows per curated dataset, stream consumers' lag, quality
 * results, run outcome.
 */
export function pipelineRunSamples(r: RunRecord): JobSample[] {
  const domain = r.domain;
  const records = (source: string, stage: string, value: number): JobSample => ({
    name: 'mesh_pipeline_records',
    help: 'Records of the last pipeline run per source and stage (in = curated + quarantined + duplicates)',
    labels: { domain, source, stage },
    value,
  });
  return [
    ...jobRunSamples(
      `pipeline.${domain}`,
      { finishedAt: new Date(r.finishedAt), durationMs: r.durationMs, ok: r.status === 'succeeded' },
      { domain },
    ),
    ...r.accounting.flatMap((a) => [
      records(a.source, 'in', a.in),
      records(a.source, 'curated', a.curated),
      records(a.source, 'quarantined', a.quarantined),
      records(a.source, 'duplicate', a.duplicates),
      records(a.source, 'malformed', a.malformed),
      records(a.source, 'late', a.lateArrivals),
    ]),
    ...r.datasets.map((d) => ({
      name: 'mesh_pipeline_dataset_rows',
      help: 'Rows of each curated dataset published by the last run',
      labels: { domain, dataset: d.name },
      value: d.rows,
    })),
    ...(r.streamBatches ?? []).map((b) => ({
      name: 'mesh_stream_consumer_lag_messages',
      help: 'Messages a stream source held beyond the batch its last run landed (what its consumer lags by)',
      labels: { domain, source: b.source },
      value: b.lag,
    })),
    ...(r.streamBatches ?? []).flatMap((b) =>
      b.freshness
        ? (['0.5', '0.99'] as const).map((quantile) => ({
            name: 'mesh_stream_freshness_seconds',
            help: "Seconds from a stream batch's event times to the commit of the version holding them, by quantile",
            labels: { domain, source: b.source, quantile },
            value: quantile === '0.5' ? b.freshness!.p50Seconds : b.freshness!.p99Seconds,
          }))
        : [],
    ),
    ...(['passed', 'failed'] as const).map((result) => ({
      name: 'mesh_quality_checks',
      help: 'Quality rules of the last pipeline run by result',
      labels: { domain, result },
      value: r.quality.filter((q) => q.passed === (result === 'passed')).length,
    })),
  ];
}
