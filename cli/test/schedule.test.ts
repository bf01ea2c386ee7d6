import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { listDomains } from '../../platform/domains.js';
import { REPO_ROOT } from '../../platform/config.js';
import { MeshError, ErrorCode, isMeshError } from '../../platform/errors.js';
import { loadContract } from '../../governance/contracts/load.js';
import { jobMetricsText } from '../../products/jobMetrics.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { loadSchedules, nextRuns, type DomainSchedule } from '../../jobs/schedule/definitions.js';
import { PipelineScheduler, scheduleHistory, scheduleStatus, setPaused } from '../../jobs/schedule/scheduler.js';
import { airflowDags, AIRFLOW_TASKS } from '../../jobs/schedule/airflow.js';
import { applyFeatures } from '../../feature-subgraph/featureStore.js';
import { loadRegistry, viewsReading } from '../../feature-subgraph/registry.js';
import { createOnlineStore } from '../../feature-subgraph/online/index.js';
import { scheduledWork } from '../commands/schedule.js';
import type { MeshPlatform } from '../../lineage/index.js';
import { childEnv, copyDomains, tempDir } from '../../platform/test/helpers.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';

const exec = promisify(execFile);
const schedule = (domain: string, retries = 0): DomainSchedule => ({
  domain,
  cron: '0 0 1 1 *',
  owner: `${domain}-data`,
  retries,
});

/** A run that waits until released, counting how many ran at once. */
function gate() {
  const state = { calls: [] as string[], concurrent: 0, peak: 0, release: new Map<string, () => void>() };
  const work = async (domain: string) => {
    state.calls.push(domain);
    state.peak = Math.max(state.peak, ++state.concurrent);
    await new Promise<void>((resolve) => state.release.set(domain, resolve));
    state.concurrent--;
    return { runId: `run-${domain}`, steps: { pipeline: 1 } };
  };
  return { state, work };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('schedules from the contracts', () => {
  it("every domain's contract schedule, owner, freshness SLA and retries", () => {
    const schedules = loadSchedules(listDomains(path.join(REPO_ROOT, 'subgraphs')));
    expect(schedules.map((s) => [s.domain, s.cron])).toEqual([
      ['campaigns', '0 4,10,16,22 * * *'],
      ['catalog', '0 3 * * *'],
      ['fulfillment', '30 * * * *'],
      ['payments', '0 0,6,12,18 * * *'],
      ['sales', '15 * * * *'],
    ]);
    expect(schedules.find((s) => s.domain === 'sales')).toMatchObject({
      owner: 'sales-data',
      freshnessHours: 24,
      retries: 2,
    });
    expect(
      nextRuns(schedules.find((s) => s.domain === 'sales')!, 2, new Date('2026-12-02T10:20:00Z')).map((d) =>
        d.toISOString(),
      ),
    ).toEqual(['2026-12-02T11:15:00.000Z', '2026-12-02T12:15:00.000Z']);
  });

  it('an invalid cron is refused with the contract it comes from', () => {
    const domains = copyDomains();
    try {
      const file = path.join(domains.dir, 'catalog', 'contract.odcs.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('value: "0 3 * * *"', 'value: "61 3 * * *"'));
      expect(() => loadSchedules(listDomains(domains.dir))).toThrow(
        `${file}: schedule "61 3 * * *" is not a valid cron pattern`,
      );
    } finally {
      domains.remove();
    }
  });
});

describe('the scheduler', () => {
  it('never runs one domain twice at once, and at most `concurrency` runs in all', async () => {
    const platform = testMeshPlatform();
    const { state, work } = gate();
    const scheduler = new PipelineScheduler(platform, [schedule('sales'), schedule('catalog')], work, {
      concurrency: 1,
    });
    const first = scheduler.trigger('sales', 'manual');
    const again = scheduler.trigger('sales', 'schedule');
    const other = scheduler.trigger('catalog', 'schedule');
    await until(() => state.calls.length === 1);
    expect(again).toBe(first);
    await new Promise((r) => setTimeout(r, 50));
    expect(state.calls).toEqual(['sales']);
    state.release.get('sales')!();
    await until(() => state.calls.length === 2);
    state.release.get('catalog')!();
    expect(await first).toMatchObject({
      domain: 'sales',
      trigger: 'manual',
      outcome: 'succeeded',
      attempts: 1,
      runId: 'run-sales',
    });
    expect(await other).toMatchObject({ domain: 'catalog', outcome: 'succeeded' });
    expect(state.peak).toBe(1);
  });

  it('runs a tick that came due during a run of its domain after that run, in order, each once', async () => {
    const platform = testMeshPlatform();
    const ticks: string[] = [];
    let release = () => {};
    const scheduler = new PipelineScheduler(
      platform,
      [schedule('sales')],
      async (_domain, context) => {
        ticks.push(context!.tick!.toISOString());
        if (ticks.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return { steps: {} };
      },
      { concurrency: 2 },
    );
    const at = (hour: number) => new Date(Date.UTC(2026, 11, 1, hour));
    const first = scheduler.trigger('sales', 'schedule', at(1));
    await until(() => ticks.length === 1);
    const second = scheduler.trigger('sales', 'schedule', at(2));
    const third = scheduler.trigger('sales', 'schedule', at(3));
    // The same tick handed over again (by a look after another instance's lease) waits once.
    expect(scheduler.trigger('sales', 'schedule', at(2))).toBe(second);
    await new Promise((r) => setTimeout(r, 50));
    expect(ticks).toEqual([at(1).toISOString()]);
    release();
    expect((await Promise.all([first, second, third])).map((r) => r?.outcome)).toEqual(Array(3).fill('succeeded'));
    expect(ticks).toEqual([1, 2, 3].map((h) => at(h).toISOString()));
    // A tick already run to its end is not run again.
    expect(await scheduler.trigger('sales', 'schedule', at(2))).toBeUndefined();
    await scheduler.stop();
  });

  it('runs waiting domains in the order they were triggered, however long their reads take', async () => {
    const platform = testMeshPlatform();
    // The first domain's reads are the slowest, so a scheduler that queued after reading would run it last.
    const tryGet = platform.store.tryGet.bind(platform.store);
    platform.store.tryGet = async (key) => {
      if (key.includes('sales')) await new Promise((r) => setTimeout(r, 60));
      return tryGet(key);
    };
    const { state, work } = gate();
    const scheduler = new PipelineScheduler(
      platform,
      [schedule('sales'), schedule('catalog'), schedule('payments')],
      work,
      { concurrency: 1 },
    );
    const runs = ['sales', 'catalog', 'payments'].map((d) => scheduler.trigger(d, 'schedule'));
    for (const [i, domain] of ['sales', 'catalog', 'payments'].entries()) {
      await until(() => state.calls.length === i + 1);
      expect(state.calls[i]).toBe(domain);
      state.release.get(domain)!();
    }
    expect((await Promise.all(runs)).map((r) => r?.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('retries with backoff, then records the failure; the history keeps both, newest first', async () => {
    const platform = testMeshPlatform();
    let calls = 0;
    const times: number[] = [];
    const flaky = async () => {
      times.push(Date.now());
      if (++calls < 3) throw new MeshError(ErrorCode.QUALITY_GATE_FAILED, `attempt ${calls} failed`);
      return { runId: 'r3', steps: { pipeline: 5 } };
    };
    const scheduler = new PipelineScheduler(platform, [schedule('sales', 2)], flaky, { backoffMs: 40 });
    const ok = await scheduler.trigger('sales', 'schedule');
    expect(ok).toMatchObject({ outcome: 'succeeded', attempts: 3, runId: 'r3' });
    expect(ok!.error).toBeUndefined();
    // Exponential: 40 ms, then 80 ms.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(38);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(78);
    const broken = new PipelineScheduler(
      platform,
      [schedule('sales', 1)],
      async () => {
        throw new MeshError(ErrorCode.SOURCE_MISSING, 'no raw files');
      },
      { backoffMs: 1 },
    );
    const failed = await broken.trigger('sales', 'schedule');
    expect(failed).toMatchObject({
      outcome: 'failed',
      attempts: 2,
      error: { code: 'SOURCE_MISSING', message: 'no raw files' },
    });
    expect((await scheduleHistory(platform, 'sales')).map((h) => [h.outcome, h.attempts])).toEqual([
      ['failed', 2],
      ['succeeded', 3],
    ]);
    // The failure is a job metric the contract's alert watches.
    expect(await jobMetricsText(platform.store)).toMatch(
      /mesh_job_last_run_success\{mesh_job="schedule",domain="sales"\} 0/,
    );
  });

  it('stopping gives up a retry instead of waiting out its backoff', async () => {
    const platform = testMeshPlatform();
    let calls = 0;
    const scheduler = new PipelineScheduler(
      platform,
      [schedule('sales', 3)],
      async () => {
        calls++;
        throw new MeshError(ErrorCode.SOURCE_MISSING, 'no raw files');
      },
      { backoffMs: 60_000 },
    );
    const run = scheduler.trigger('sales', 'manual');
    await until(() => calls === 1);
    const t = Date.now();
    await scheduler.stop();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await run).toMatchObject({ outcome: 'failed', attempts: 1, error: { code: 'SOURCE_MISSING' } });
  });

  it('a paused domain is not run until resumed; status says so from any process', async () => {
    const platform = testMeshPlatform();
    let runs = 0;
    const scheduler = new PipelineScheduler(platform, [schedule('sales')], async () => ({
      steps: { pipeline: (runs++, 1) },
    }));
    await setPaused(platform, 'sales', true, 'test');
    expect(await scheduler.trigger('sales', 'schedule')).toBeUndefined();
    expect(runs).toBe(0);
    const [paused] = await scheduleStatus(platform, [schedule('sales')]);
    expect(paused).toMatchObject({ domain: 'sales', paused: { by: 'test' }, nextRun: null, lastRun: null });
    await setPaused(platform, 'sales', false, 'test');
    expect(await scheduler.trigger('sales', 'schedule')).toMatchObject({ outcome: 'succeeded' });
    const [active] = await scheduleStatus(platform, [schedule('sales')], new Date('2026-06-01T00:00:00Z'));
    expect(active).toMatchObject({
      paused: null,
      nextRun: '2027-01-01T00:00:00.000Z',
      succeeded: 1,
      failed: 0,
      lastRun: { outcome: 'succeeded' },
    });
  });

  it('a domain paused before the control plane stays paused, and resuming clears the old flag too', async () => {
    const platform = testMeshPlatform();
    const legacy = '_platform/schedule/sales/paused.json';
    await platform.store.put(legacy, JSON.stringify({ since: '2026-10-01T00:00:00.000Z', by: 'ops' }));
    const scheduler = new PipelineScheduler(platform, [schedule('sales')], async () => ({ steps: {} }));
    expect(await scheduler.trigger('sales', 'schedule')).toBeUndefined();
    expect((await scheduleStatus(platform, [schedule('sales')]))[0]!.paused).toEqual({
      since: '2026-10-01T00:00:00.000Z',
      by: 'ops',
    });
    expect(await platform.store.head(legacy)).toBeUndefined();
    await setPaused(platform, 'sales', false, 'test');
    expect((await scheduleStatus(platform, [schedule('sales')]))[0]!.paused).toBeNull();
    expect(await scheduler.trigger('sales', 'schedule')).toMatchObject({ outcome: 'succeeded' });
  });

  it('status names the instance running a domain, asked from another process of the machine', async () => {
    const platform = testMeshPlatform();
    let finish!: () => void;
    const scheduler = new PipelineScheduler(platform, [schedule('sales')], async () => {
      await new Promise<void>((r) => {
        finish = r;
      });
      return { steps: {} };
    });
    const run = scheduler.trigger('sales', 'schedule');
    const elsewhere = testMeshPlatform({ MESH_DATA_DIR: platform.config.dataDir });
    await until(async () => (await scheduleStatus(elsewhere, [schedule('sales')]))[0]!.runningOn !== null, 4000);
    expect((await scheduleStatus(elsewhere, [schedule('sales')]))[0]!.runningOn).toBe(scheduler.holder);
    finish();
    await run;
    expect((await scheduleStatus(elsewhere, [schedule('sales')]))[0]!.runningOn).toBeNull();
  });

  it('a run whose instance lost the lease meanwhile is refused by the fence: failed, CONFLICT', async () => {
    const platform = testMeshPlatform();
    const other = testMeshPlatform({ MESH_DATA_DIR: platform.config.dataDir });
    let fenced: unknown;
    const scheduler: PipelineScheduler = new PipelineScheduler(platform, [schedule('sales')], async (_d, context) => {
      // As if frozen past its lease's expiry while another instance took the domain.
      await platform.control.release('schedule/sales', scheduler.holder);
      expect(await other.control.acquire('schedule/sales', 'another-instance', 60_000)).toBeDefined();
      fenced = await context!.fence!().catch((e: unknown) => e);
      if (fenced) throw fenced;
      return { steps: {} };
    });
    const run = await scheduler.trigger('sales', 'schedule', new Date('2026-12-01T00:00:00.000Z'));
    expect(isMeshError(fenced, 'CONFLICT')).toBe(true);
    expect((fenced as Error).message).toMatch(/lost the domain's lease.*nothing published/);
    expect(run).toMatchObject({ outcome: 'failed', error: { code: 'CONFLICT' } });
  });

  it('fires on its cron', async () => {
    const platform = testMeshPlatform();
    const fired: number[] = [];
    const scheduler = new PipelineScheduler(platform, [{ ...schedule('sales'), cron: '* * * * * *' }], async () => ({
      steps: { pipeline: (fired.push(Date.now()), 1) },
    }));
    scheduler.start();
    try {
      await until(() => fired.length >= 2, 4000);
    } finally {
      await scheduler.stop();
    }
    expect(fired[1]! - fired[0]!).toBeGreaterThanOrEqual(900);
  });
});

describe('a scheduled run on real data', () => {
  let platform: MeshPlatform;
  beforeAll(async () => {
    platform = testMeshPlatform({ MESH_ONLINE_SQLITE: path.join(tempDir(), 'online.sqlite') });
    await generateMarketplace(platform.store, SMALL);
    for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
    await applyFeatures(platform);
  }, 120_000);

  it(
    'publishes nothing when nothing is new; with a new raw file runs the pipeline, the feature views that read the ' +
      'domain, and materializes them',
    async () => {
      const scheduler = new PipelineScheduler(
        platform,
        loadSchedules(listDomains(platform.config.domainsDir)),
        scheduledWork(platform),
      );
      const [serving] = await scheduleStatus(
        platform,
        loadSchedules(listDomains(platform.config.domainsDir)).filter((s) => s.domain === 'payments'),
      );
      // The same raw objects and definitions as the version serving: nothing runs, nothing is published.
      const idle = await scheduler.trigger('payments', 'schedule');
      expect(idle).toMatchObject({ outcome: 'succeeded', published: false });
      expect(Object.keys(idle!.steps!)).toEqual(['check']);
      expect(
        (
          await scheduleStatus(
            platform,
            loadSchedules(listDomains(platform.config.domainsDir)).filter((s) => s.domain === 'payments'),
          )
        )[0]!.watermark,
      ).toBe(serving!.watermark);
      // A new raw object (a late settlement file) makes the next run publish and feed the online store.
      const [raw] = (await platform.store.list('payments/raw/')).filter(
        (o) => /\.(csv|jsonl?)$/.test(o.key) && !path.basename(o.key).startsWith('_'),
      );
      await platform.store.put(raw!.key.replace(/(\.\w+)$/, '-late$1'), await platform.store.get(raw!.key));
      const run = await scheduler.trigger('payments', 'schedule');
      expect(run).toMatchObject({ outcome: 'succeeded', published: true, attempts: 1 });
      expect(Object.keys(run!.steps!)).toEqual(['check', 'pipeline', 'features', 'materialize']);
      expect(run!.runId).not.toBe(idle!.runId);
      const views = viewsReading(await loadRegistry(platform.store), 'payments');
      expect(views.length).toBeGreaterThan(0);
      const online = createOnlineStore(platform.config.online);
      try {
        const stats = await online.stats();
        for (const v of views) expect(stats.find((t) => t.table.includes(v.name))?.keys, v.name).toBeGreaterThan(0);
      } finally {
        await online.close();
      }
      const [status] = await scheduleStatus(
        platform,
        loadSchedules(listDomains(platform.config.domainsDir)).filter((s) => s.domain === 'payments'),
      );
      expect(status).toMatchObject({
        lastRun: { runId: run!.runId, outcome: 'succeeded', published: true },
        succeeded: 2,
        failed: 0,
      });
    },
  );
});

describe('Airflow DAGs from the same definitions', () => {
  const dir = tempDir();
  const schedules = loadSchedules(listDomains(path.join(REPO_ROOT, 'subgraphs')));
  beforeAll(() => {
    const dags = airflowDags(schedules, {
      image: 'registry.example/mesh:1.0',
      lineageNamespace: 'mesh',
      kubernetesNamespace: 'mesh',
      secretEnv: ['MESH_STORE', 'REDIS_URL'],
    });
    for (const [file, text] of Object.entries(dags)) fs.writeFileSync(path.join(dir, file), text);
  });

  it('compile as Python (and a broken file does not)', async () => {
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    expect(files.map((f) => path.basename(f)).sort()).toEqual([
      'mesh_campaigns.py',
      'mesh_catalog.py',
      'mesh_fulfillment.py',
      'mesh_payments.py',
      'mesh_sales.py',
    ]);
    await exec('python3', ['-m', 'py_compile', ...files]);
    const broken = path.join(tempDir(), 'broken.py');
    fs.writeFileSync(broken, fs.readFileSync(files[0]!, 'utf8').replace('with DAG(', 'with DAG('.slice(0, -1)));
    await expect(exec('python3', ['-m', 'py_compile', broken])).rejects.toThrow();
  });

  it(
    'each: the contract schedule, owner, SLA and retries; pipeline → quality → features → materialize, each one mesh ' +
      'command',
    async () => {
      for (const s of schedules) {
        const text = fs.readFileSync(path.join(dir, `mesh_${s.domain}.py`), 'utf8');
        const contract = loadContract(path.join(REPO_ROOT, 'subgraphs', s.domain, 'contract.odcs.yaml'), s.domain);
        expect(text).toContain(`dag_id="mesh_${s.domain}"`);
        expect(text).toContain(
          `schedule="${String(contract.customProperties!.find((p) => p.property === 'schedule')!.value)}"`,
        );
        expect(text).toContain(`"owner": "${contract.team!.name}"`);
        expect(text).toContain(`"sla": timedelta(hours=${s.freshnessHours})`);
        expect(text).toContain(`"retries": ${s.retries}`);
        expect(text).toContain('OPENLINEAGE_NAMESPACE = "mesh"');
        expect(text).toContain('max_active_runs=1');
        const tasks = [...text.matchAll(/^ {4}(\w+) = mesh\("(\w+)", "([\w-]+)", (.*)\)$/gm)].map((m) => ({
          id: m[2],
          serviceAccount: m[3],
          args: m[4]!.split(', ').map((a) => (a === 'DOMAIN' ? s.domain : (JSON.parse(a) as string))),
        }));
        expect(tasks.map((t) => t.id)).toEqual(['pipeline', 'quality', 'features', 'materialize']);
        // Each pod runs as a storage role of `mesh iam policies`: the domain's pipeline, then the feature store.
        expect(tasks.map((t) => t.serviceAccount)).toEqual([
          `mesh-${s.domain}-pipeline`,
          `mesh-${s.domain}-pipeline`,
          'mesh-feature-store',
          'mesh-feature-store',
        ]);
        expect(text).toContain('service_account_name=service_account,');
        expect(text).toMatch(/^ {4}pipeline >> quality >> features >> materialize$/m);
        expect(tasks.map((t) => t.args)).toEqual(AIRFLOW_TASKS.map((t) => t.args(s.domain)));
      }
    },
  );

  it('the commands the tasks run exist with those options', async () => {
    for (const t of AIRFLOW_TASKS) {
      const args = t.args('sales');
      const command = args.filter(
        (a, i) => !a.startsWith('--') && args[i - 1]?.startsWith('--') !== true && a !== 'sales',
      );
      const { stdout } = await exec(process.execPath, [path.join(REPO_ROOT, 'cli', 'bin.js'), ...command, '--help'], {
        env: childEnv(),
      });
      for (const option of args.filter((a) => a.startsWith('--'))) expect(stdout, args.join(' ')).toContain(option);
    }
  });
});
