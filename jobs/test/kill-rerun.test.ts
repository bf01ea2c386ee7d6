import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import { selectDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../generate/index.js';
import { currentManifest } from '../../products/readers.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { tempDir, testPlatform } from '../../test/helpers.js';
import { sweepStaleTemp } from '../../platform/tmp.js';
import type { MeshPlatform } from '../../lineage/index.js';

const OPTIONS = { scale: 0.5, seed: 5, days: 60, end: '2026-11-01T00:00:00.000Z' };
const BIN = path.join(REPO_ROOT, 'cli', 'bin.js');

function meshRun(dataDir: string, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', 'sales'], { env: { ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Whatever the manifest names must exist in full: readers never see a partial version. */
async function assertConsistent(platform: MeshPlatform): Promise<void> {
  const m = await currentManifest(platform, 'sales');
  if (!m) return;
  for (const d of Object.values(m.datasets)) {
    const body = await platform.store.get(d.key);
    expect(createHash('sha256').update(body).digest('hex')).toBe(d.sha256);
  }
}

describe('kill and rerun', () => {
  it('a pipeline killed at any point leaves a consistent store, and a rerun completes with identical data', async () => {
    const reference = testPlatform();
    await generateMarketplace(reference.store, OPTIONS);
    const expected = await runDomainPipeline(reference, selectDomains(reference.config.domainsDir, ['sales'])[0]!);

    const victim = testPlatform();
    await generateMarketplace(victim.store, OPTIONS);
    let killed = 0;
    for (const ms of [300, 700, 1100, 1500, 1900, 2300, 2700, 3200]) {
      const { signal } = await meshRun(victim.config.dataDir, ms);
      if (signal === 'SIGKILL') killed++;
      await assertConsistent(victim);
    }
    expect(killed).toBeGreaterThanOrEqual(4);
    const { code } = await meshRun(victim.config.dataDir);
    expect(code).toBe(0);
    const m = await currentManifest(victim, 'sales');
    expect(Object.values(m!.datasets).map((d) => [d.name, d.sha256])).toEqual(expected.datasets.map((d) => [d.name, d.sha256]));
    await assertConsistent(victim);
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
