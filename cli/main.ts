import { Command, CommanderError } from 'commander';
import { isMeshError } from '../platform/index.js';
import { registerGenerate } from './commands/generate.js';
import { registerRun } from './commands/run.js';
import { registerQuality } from './commands/quality.js';
import { registerContracts } from './commands/contracts.js';
import { registerStart } from './commands/start.js';
import { registerServe } from './commands/serve.js';
import { registerFeatures } from './commands/features.js';
import { registerSchema } from './commands/schema.js';
import { registerDomain } from './commands/domain.js';
import { registerLineage } from './commands/lineage.js';
import { registerTrain } from './commands/train.js';
import { registerSlo } from './commands/slo.js';
import { registerCost } from './commands/cost.js';

const program = new Command('mesh')
  .description('The marketplace data mesh: sources, contract-guarded pipelines, quality, and more')
  .showHelpAfterError()
  .exitOverride();

for (const register of [registerGenerate, registerRun, registerQuality, registerContracts, registerFeatures, registerSchema, registerDomain, registerLineage, registerTrain, registerSlo, registerCost, registerServe, registerStart]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (isMeshError(err)) {
    process.stderr.write(`\n✖ ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
