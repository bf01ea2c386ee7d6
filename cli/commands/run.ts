import { Command } from 'commander';
import { type MeshPlatform } from '../../lineage/index.js';
import { selectDomains, Progress, formatMs, MeshError, ErrorCode, isMeshError } from '../../platform/index.js';
import { runDomainPipeline } from '../../jobs/index.js';
import type { RunRecord } from '../../products/index.js';
import { perSecond, table } from '../format.js';
import { computeAndPrint } from './features.js';
import { loadRegistry, tableId, viewsReading } from '../../feature-subgraph/index.js';
import { createMeshPlatform } from '../platform.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run raw → curated pipelines for the named domains (all by default), then recompute the registered feature ' +
        'views that read them',
    )
    .argument('[domains...]', 'domains to run')
    .option(
      '--full',
      'read every raw object again and rebuild every dataset (by default a run reads only raw objects no earlier run ' +
        'read)',
    )
    .option('--no-features', 'skip the feature views')
    .action(async (domains: string[], o: { features: boolean; full?: boolean }) => {
      const platform = createMeshPlatform();
      const records = await runAndSummarize(platform, domains, { full: o.full });
      if (!o.features) return;
      const registry = await loadRegistry(platform.store);
      const views = [
        ...new Map(records.flatMap((r) => viewsReading(registry, r.domain)).map((v) => [tableId(v), v])).values(),
      ];
      if (Object.keys(registry.views).length === 0)
        process.stdout.write('\nNo feature views registered yet (npx mesh features apply).\n');
      else if (views.length > 0) await computeAndPrint(platform, { views: views.map(tableId) });
    });
}

/** Runs every named domain (a failing domain does not stop the others), prints the summary, fails if any failed. */
export async function runAndSummarize(
  platform: MeshPlatform,
  names: string[],
  options: { full?: boolean } = {},
): Promise<RunRecord[]> {
  const progress = new Progress();
  const records: RunRecord[] = [];
  const failures: string[] = [];
  for (const domain of selectDomains(platform.config.domainsDir, names)) {
    try {
      records.push(await runDomainPipeline(platform, domain, { progress, full: options.full }));
    } catch (err) {
      if (!isMeshError(err)) throw err;
      failures.push(`${domain.name}: ${err.code}: ${err.message}`);
      process.stderr.write(`✖ ${err.code}: ${err.message}\n`);
    }
  }
  process.stdout.write(`${runSummary(records, progress.elapsedMs())}\n`);
  if (failures.length > 0)
    throw new MeshError(
      ErrorCode.QUALITY_GATE_FAILED,
      `${failures.length} domain pipeline(s) failed:\n${failures.join('\n')}`,
    );
  return records;
}

export function runSummary(records: RunRecord[], elapsedMs: number): string {
  const rows = records.flatMap((r) =>
    r.accounting.map((a) => [
      `${r.domain}/${a.source}`,
      a.in,
      a.curated,
      a.quarantined,
      a.duplicates,
      a.lateArrivals,
      a.in === a.curated + a.quarantined + a.duplicates ? '✔' : '✖',
    ]),
  );
  const datasets = records.flatMap((r) =>
    r.datasets.map((d) => [
      `${r.domain}/${d.name}`,
      d.rows,
      d.columns.filter((c) => c.pii).length,
      d.sha256.slice(0, 16),
      d.files.length,
    ]),
  );
  const quality = records.map((r) => {
    const failedWarn = r.quality.filter((q) => !q.passed && !q.blocking).length;
    return [
      r.domain,
      r.unchanged ? 'nothing new' : r.mode,
      r.quality.length,
      r.quality.filter((q) => q.passed).length,
      failedWarn,
      formatMs(r.durationMs),
    ];
  });
  const totalIn = records.reduce((n, r) => n + r.accounting.reduce((m, a) => m + a.in, 0), 0);
  return [
    '',
    'Records (in = curated + quarantined + duplicates):',
    table(['source', 'in', 'curated', 'quarantined', 'duplicates', 'late', 'balanced'], rows),
    '',
    "Published curated datasets (PII masked; clear values only in each domain's restricted layer):",
    table(['dataset', 'rows', 'pii cols', 'version', 'files'], datasets),
    '',
    table(['domain', 'run', 'rules', 'passed', 'warnings', 'duration'], quality),
    '',
    `${records.length} domain(s), ${totalIn.toLocaleString('en-US')} records ` +
      `in ${formatMs(elapsedMs)} (${perSecond(totalIn, elapsedMs)} records/s)`,
  ].join('\n');
}
