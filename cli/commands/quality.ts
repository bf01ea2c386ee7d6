import { Command } from 'commander';
import { selectDomains, MeshError, ErrorCode } from '../../platform/index.js';
import { recentRuns, type RunRecord } from '../../products/index.js';
import { table } from '../format.js';
import { createMeshPlatform } from '../platform.js';

export function registerQuality(program: Command): void {
  program
    .command('quality')
    .description('show the quality results of the latest run of each domain')
    .argument('[domain]', 'one domain (all by default)')
    .option('--json', 'print the results as JSON')
    .option('--failed', 'only rules that did not pass')
    .option('--gate', 'exit 1 when a latest run failed or a blocking rule did not pass (an Airflow task)')
    .action(async (domain: string | undefined, o: { json?: boolean; failed?: boolean; gate?: boolean }) => {
      const platform = createMeshPlatform();
      const out = [];
      for (const d of selectDomains(platform.config.domainsDir, domain ? [domain] : [])) {
        const [latest] = await recentRuns(platform, d.name, 1);
        out.push({ domain: d.name, run: latest });
      }
      if (o.json)
        process.stdout.write(
          `${JSON.stringify(
            out.map((x) => ({
              domain: x.domain,
              runId: x.run?.runId,
              status: x.run?.status,
              quality: x.run?.quality ?? [],
            })),
            null,
            2,
          )}\n`,
        );
      else printQuality(out, o.failed === true);
      if (!o.gate) return;
      const closed = out.filter(
        (x) => !x.run || x.run.status !== 'succeeded' || x.run.quality.some((q) => q.blocking && !q.passed),
      );
      if (closed.length > 0)
        throw new MeshError(
          ErrorCode.QUALITY_GATE_FAILED,
          `quality gate closed for ${closed
            .map((x) => `${x.domain} (${x.run ? `run ${x.run.runId} ${x.run.status}` : 'no run'})`)
            .join(', ')}`,
        );
    });
}

function printQuality(out: { domain: string; run?: RunRecord }[], failed: boolean): void {
  for (const { domain: name, run } of out) {
    if (!run) {
      process.stdout.write(`${name}: no run yet (npx mesh run ${name})\n\n`);
      continue;
    }
    const results = run.quality.filter((q) => !failed || !q.passed);
    process.stdout.write(
      `${name}: run ${run.runId} ${run.status}${run.error ? ` (${run.error.code})` : ''}, ` +
        `${run.quality.filter((q) => q.passed).length}/${run.quality.length} rules passed\n`,
    );
    if (results.length > 0) {
      process.stdout.write(
        `${table(
          ['', 'dataset', 'rule', 'severity', 'observed', 'expected'],
          results.map((q) => [
            q.passed ? '✔' : q.blocking ? '✖' : '!',
            q.column ? `${q.dataset}.${q.column}` : q.dataset,
            q.rule,
            q.severity,
            String(q.observed),
            q.expected,
          ]),
        )}\n`,
      );
    }
    process.stdout.write('\n');
  }
}
