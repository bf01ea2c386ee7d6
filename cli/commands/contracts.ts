import { Command } from 'commander';
import { Duck, loadConfig, listDomains, MeshError, ErrorCode, isMeshError } from '../../platform/index.js';
import { meshColumnLineage } from '../../lineage/index.js';
import { loadContract } from '../../governance/index.js';
import { loadPipeline } from '../../jobs/index.js';

export function registerContracts(program: Command): void {
  const contracts = program.command('contracts').description('data contracts (Open Data Contract Standard v3)');
  contracts
    .command('validate')
    .description(
      "validate every domain's contract against ODCS v3.1 and its pipeline, and derive the column lineage of every " +
        "pipeline's and feature view's SQL",
    )
    .action(async () => {
      let failed = 0;
      const domains = listDomains(loadConfig().domainsDir);
      for (const d of domains) {
        try {
          const c = loadContract(d.contractFile, d.name);
          loadPipeline(d, c);
          process.stdout.write(`✔ ${d.name}: contract ${c.id} v${c.version}, ${c.schema.length} datasets\n`);
        } catch (err) {
          if (!isMeshError(err)) throw err;
          failed++;
          process.stdout.write(`✖ ${d.name}: ${err.message}\n`);
        }
      }
      if (failed > 0) throw new MeshError(ErrorCode.CONTRACT_INVALID, `${failed} contract(s) invalid`);
      // Column lineage is derived from the SQL, never guessed: what cannot be derived or declared fails here.
      const duck = await Duck.open();
      try {
        const lineage = await meshColumnLineage(duck, domains);
        for (const problem of lineage.problems) process.stdout.write(`✖ column lineage: ${problem}\n`);
        if (lineage.problems.length)
          throw new MeshError(
            ErrorCode.LINEAGE_UNDERIVABLE,
            `${lineage.problems.length} column lineage problem(s): make the SQL derivable, or declare it in ` +
              'lineage.yaml',
          );
        const columns = [...lineage.curated.values()].reduce((n, d) => n + d.columns.length, 0);
        const features = [...lineage.views.values()].reduce((n, v) => n + v.columns.length, 0);
        process.stdout.write(
          `✔ column lineage: ${columns} curated columns of ${lineage.curated.size} datasets, ${features} columns of ` +
            `${lineage.views.size} feature views, derived from their SQL\n`,
        );
      } finally {
        duck.close();
      }
    });
}
