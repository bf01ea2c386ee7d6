import { Command } from 'commander';
import { loadConfig, listDomains, MeshError, ErrorCode, isMeshError } from '../../platform/index.js';
import { loadContract } from '../../governance/index.js';
import { loadPipeline } from '../../jobs/index.js';

export function registerContracts(program: Command): void {
  const contracts = program.command('contracts').description('data contracts (Open Data Contract Standard v3)');
  contracts
    .command('validate')
    .description("validate every domain's contract against ODCS v3.1 and its pipeline")
    .action(() => {
      let failed = 0;
      for (const d of listDomains(loadConfig().domainsDir)) {
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
    });
}
