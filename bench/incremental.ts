/**
 * What a scheduled run costs as history grows: the incremental run that follows a day of new raw files, against a full
 * rebuild of the same data measured in the same run, at several lengths of history. Incremental should stay flat.
 *
 *   npx tsx bench/incremental.ts [--scale 1] [--days 30,90,180] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { formatMs } from '../platform/progress.js';
import { generateMarketplace, DEFAULT_GENERATE, GENERATED_DOMAINS } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { extractManifestKey, rawPrefix } from '../products/storeLayout.js';
import { table } from '../cli/format.js';
import { createMeshPlatform } from '../cli/platform.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    days: { type: 'string', default: '30,90,180' },
    json: { type: 'boolean', default: false },
  },
});
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const histories = values.days.split(',').map(Number);
const rows: (string | number)[][] = [];
const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];

for (const days of histories) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-incr-'));
  const platform = createMeshPlatform(loadConfig({ ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' }));
  const gen = await generateMarketplace(platform.store, { ...DEFAULT_GENERATE, scale: Number(values.scale), days });
  // The newest file of every stream (a Kafka partition's last segment, the last daily or weekly export) is what a day
  // brings.
  const held = new Map<string, Buffer>();
  for (const domain of GENERATED_DOMAINS) {
    const newest = new Map<string, string>();
    for (const f of await platform.store.list(rawPrefix(domain))) {
      if (f.key === extractManifestKey(domain)) continue;
      const stream = f.key.replace(/[^/]*$/, '').replace(/\d{4}-?\d{2}-?\d{2}/g, '');
      if ((newest.get(stream) ?? '') < f.key) newest.set(stream, f.key);
    }
    for (const key of newest.values()) held.set(key, await platform.store.get(key));
  }
  const extracts = new Map(
    await Promise.all(
      GENERATED_DOMAINS.map(async (d) => [d, (await platform.store.get(extractManifestKey(d))).toString()] as const),
    ),
  );
  for (const key of held.keys()) await platform.store.delete(key);
  for (const [d, body] of extracts) {
    const e = JSON.parse(body) as { asOf: string };
    await platform.store.put(
      extractManifestKey(d),
      JSON.stringify({ ...e, asOf: new Date(Date.parse(e.asOf) - 86_400_000).toISOString() }),
    );
  }
  const domains = listDomains(platform.config.domainsDir);
  for (const d of domains) await runDomainPipeline(platform, d, { full: true });

  for (const [key, body] of held) await platform.store.put(key, body);
  for (const [d, body] of extracts) await platform.store.put(extractManifestKey(d), body);
  let incrementalMs = 0;
  let newLines = 0;
  for (const d of domains) {
    const t = performance.now();
    const r = await runDomainPipeline(platform, d);
    incrementalMs += performance.now() - t;
    if (r.mode !== 'incremental')
      throw new Error(`${d.name}: expected an incremental run, got ${r.mode} (${r.modeReason})`);
    newLines += r.accounting.reduce((n, a) => n + a.in, 0);
  }
  // Baseline: the same final data, rebuilt in full.
  let fullMs = 0;
  for (const d of domains) {
    const t = performance.now();
    await runDomainPipeline(platform, d, { full: true });
    fullMs += performance.now() - t;
  }
  const lines = gen.sources.reduce((n, s) => n + s.lines, 0);
  rows.push([days, lines, newLines, formatMs(fullMs), formatMs(incrementalMs), (incrementalMs / fullMs).toFixed(2)]);
  figures.push({
    name: `pipelines.incremental.${days}d.ms`,
    value: Math.round(incrementalMs),
    unit: 'ms',
    baseline: Math.round(fullMs),
    ratio: Number((incrementalMs / fullMs).toFixed(3)),
  });
  say(
    `${days} days: ${lines.toLocaleString('en-US')} raw lines; a day's ${newLines.toLocaleString('en-US')} new ones: ` +
      `incremental ${formatMs(incrementalMs)}, full ${formatMs(fullMs)}`,
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
}
const first = figures[0]!;
const last = figures.at(-1)!;
figures.push({
  name: 'pipelines.incremental.growth',
  value: Number((last.value / first.value).toFixed(3)),
  unit: 'x',
  baseline: Number((last.baseline! / first.baseline!).toFixed(3)),
});
if (values.json) process.stdout.write(`${JSON.stringify({ figures })}\n`);
say(
  `\n${table(['history (days)', 'raw lines', 'new lines', 'full rebuild', 'incremental', 'incremental/full'], rows)}`,
);
say(
  `\nfrom ${histories[0]} to ${histories.at(-1)} days of history: ` +
    `incremental ${(last.value / first.value).toFixed(2)}x, full ${(last.baseline! / first.baseline!).toFixed(2)}x ` +
    `(${os.cpus().length} cores, all five domains)`,
);
