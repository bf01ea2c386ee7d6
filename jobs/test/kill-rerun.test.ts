import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import { selectDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../generate/index.js';
import { currentManifest } from '../../products/readers.js';
import { curatedManifestKey } from '../../products/storeLayout.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { sweepStaleTemp } from '../../platform/tmp.js';
import { ErrorCode, MeshError, type Platform } from '../../platform/index.js';
import { childEnv, tempDir, testPlatform } from '../../platform/test/helpers.js';

const OPTIONS = { scale: 0.5, seed: 5, days: 60, end: '2026-11-01T00:00:00.000Z' };
/** Later data of the same marketplace: a different version to publish over the first. */
const NEXT = { ...OPTIONS, days: 61, end: '2026-11-02T00:00:00.000Z' };
const BIN = path.join(REPO_ROOT, 'cli', 'bin.js');

/** `mesh run sales` in its own process; with a fault point, the process kills itself there. */
function meshRun(
  dataDir: string,
  faultPoint?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', 'sales', '--no-features'], {
      env: childEnv({ MESH_DATA_DIR: dataDir, ...(faultPoint ? { MESH_FAULT_POINT: faultPoint } : {}) }),
      stdio: 'ignore',
    });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** The current version: present, and everything it names exists in full (readers never see a partial version). */
async function consistentVersion(platform: Platform): Promise<string> {
  const m = await currentManifest(platform, 'sales');
  if (!m) throw new Error('no current version: the previous one was lost');
  for (const f of Object.values(m.datasets).flatMap((d) => d.files)) {
    const body = await platform.store.tryGet(f.key);
    if (!body) throw new Error(`the current version names ${f.key}, which does not exist`);
    if (createHash('sha256').update(body).digest('hex') !== f.sha256)
      throw new Error(`${f.key} does not hold what the manifest says`);
  }
  return m.runId;
}

const FAULTS = [
  'after-staging',
  'after-dataset:customers',
  'after-dataset:orders',
  'after-dataset:order_items',
  'after-dataset:returns',
  'before-manifest',
  'after-manifest',
];

describe('kill and rerun', () => {
  it(
    'killed at every fault point on top of a different published version: the previous version stays current until ' +
      'the new manifest lands, and a rerun completes',
    async () => {
      // What the new data must publish, from an undisturbed run.
      const reference = testPlatform();
      await generateMarketplace(reference.store, NEXT);
      const expected = await runDomainPipeline(reference, selectDomains(reference.config.domainsDir, ['sales'])[0]!);

      // A published version of other data, then the new data arrives.
      const victim = testPlatform();
      await generateMarketplace(victim.store, OPTIONS);
      const previous = (await runDomainPipeline(victim, selectDomains(victim.config.domainsDir, ['sales'])[0]!)).runId;
      await generateMarketplace(victim.store, NEXT);

      for (const point of FAULTS) {
        const { signal } = await meshRun(victim.config.dataDir, point);
        expect(signal, point).toBe('SIGKILL');
        const current = await consistentVersion(victim);
        if (point === 'after-manifest') expect(current, point).not.toBe(previous);
        else expect(current, point).toBe(previous);
      }
      const { code } = await meshRun(victim.config.dataDir);
      expect(code).toBe(0);
      await consistentVersion(victim);
      const m = await currentManifest(victim, 'sales');
      expect(Object.values(m!.datasets).map((d) => [d.name, d.sha256])).toEqual(
        expected.datasets.map((d) => [d.name, d.sha256]),
      );
    },
  );

  it('the check catches the wrong order: a manifest written before its data is found inconsistent', async () => {
    const victim = testPlatform();
    await generateMarketplace(victim.store, OPTIONS);
    await runDomainPipeline(victim, selectDomains(victim.config.domainsDir, ['sales'])[0]!);
    // As a run that wrote the manifest first and died before the Parquet would leave it.
    const m = (await currentManifest(victim, 'sales'))!;
    const orders = m.datasets.orders!;
    await victim.store.put(
      curatedManifestKey('sales'),
      JSON.stringify({
        ...m,
        datasets: {
          ...m.datasets,
          orders: {
            ...orders,
            files: [{ ...orders.files[0]!, key: orders.files[0]!.key.replace(/[^/]+$/, 'not-yet-written.parquet') }],
          },
        },
      }),
    );
    await expect(consistentVersion(victim)).rejects.toThrow(/names .*not-yet-written\.parquet, which does not exist/);
  });
});

describe('scratch space', () => {
  it('old leftovers of killed runs are swept, young ones (a concurrent run) are kept', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'old-run'));
    fs.writeFileSync(path.join(dir, 'young.parquet'), 'x');
    const old = new Date(Date.now() - 7 * 3_600_000);
    fs.utimesSync(path.join(dir, 'old-run'), old, old);
    expect(await sweepStaleTemp(dir)).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(['young.parquet']);
  });
});

describe('a fenced run', () => {
  it('publishes nothing when its fence refuses before the manifest: the previous version stays current', async () => {
    const platform = testPlatform();
    const sales = selectDomains(platform.config.domainsDir, ['sales'])[0]!;
    await generateMarketplace(platform.store, OPTIONS);
    const first = await runDomainPipeline(platform, sales);
    await generateMarketplace(platform.store, NEXT);
    const lost = new MeshError(ErrorCode.CONFLICT, 'sales: this scheduler instance lost the lease');
    await expect(
      runDomainPipeline(platform, sales, {
        fence: async () => {
          throw lost;
        },
      }),
    ).rejects.toBe(lost);
    expect((await currentManifest(platform, 'sales'))?.runId).toBe(first.runId);
    expect((await runDomainPipeline(platform, sales, { fence: async () => {} })).runId).not.toBe(first.runId);
  });
});
