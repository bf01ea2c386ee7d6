import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, afterAll } from 'vitest';
import { generateMarketplace } from '../generate/index.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { listDomains } from '../../platform/domains.js';
import { jobMetricsText } from '../../products/jobMetrics.js';
import { testPlatform, metricValue } from '../../platform/test/helpers.js';
import { SMALL } from './helpers.js';

/** A Pushgateway stand-in that records what it receives. */
async function pushgateway() {
  const received: { method: string; url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const push = await pushgateway();
afterAll(() => push.close());

describe('batch job metrics', () => {
  it("a pipeline run's accounting, quality and outcome reach the object store and the Pushgateway", async () => {
    const platform = testPlatform({ MESH_PUSHGATEWAY_URL: push.url });
    await generateMarketplace(platform.store, SMALL);
    const sales = listDomains(platform.config.domainsDir).find((d) => d.name === 'sales')!;
    const record = await runDomainPipeline(platform, sales);

    const text = await jobMetricsText(platform.store);
    for (const a of record.accounting) {
      const stage = (s: string) =>
        metricValue(text, 'mesh_pipeline_records', { domain: 'sales', source: a.source, stage: s });
      expect(stage('in')).toBe(a.in);
      expect(stage('in')).toBe(stage('curated')! + stage('quarantined')! + stage('duplicate')!);
    }
    expect(metricValue(text, 'mesh_quality_checks', { domain: 'sales', result: 'passed' })).toBe(
      record.quality.filter((q) => q.passed).length,
    );
    expect(metricValue(text, 'mesh_job_last_run_success', { mesh_job: 'pipeline.sales' })).toBe(1);
    expect(metricValue(text, 'mesh_job_duration_seconds', { mesh_job: 'pipeline.sales' })).toBeCloseTo(
      record.durationMs / 1000,
      3,
    );
    for (const d of record.datasets)
      expect(metricValue(text, 'mesh_pipeline_dataset_rows', { domain: 'sales', dataset: d.name })).toBe(d.rows);

    // Pushgateway's API: PUT replaces the job's group with the last run.
    const pushed = push.received.filter((r) => r.url === '/metrics/job/pipeline.sales');
    expect(pushed.map((r) => r.method)).toEqual(['PUT']);
    expect(
      metricValue(pushed[0]!.body, 'mesh_pipeline_records', {
        domain: 'sales',
        source: record.accounting[0]!.source,
        stage: 'in',
      }),
    ).toBe(record.accounting[0]!.in);

    // A second domain's job is another object: both are exposed, in one family per metric.
    await runDomainPipeline(platform, listDomains(platform.config.domainsDir).find((d) => d.name === 'payments')!);
    const both = await jobMetricsText(platform.store);
    expect(both.match(/^# TYPE mesh_pipeline_records gauge$/gm)).toHaveLength(1);
    expect(metricValue(both, 'mesh_job_last_run_success', { mesh_job: 'pipeline.payments' })).toBe(1);
    expect(metricValue(both, 'mesh_job_last_run_success', { mesh_job: 'pipeline.sales' })).toBe(1);
  });
});
