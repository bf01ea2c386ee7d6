import { Command, CommanderError } from 'commander';
import { ErrorCode, isMeshError } from '../platform/index.js';

type Register = (program: Command) => void;

/**
 * Each top-level command and the module that registers it. Only the invoked command's module is loaded: a supervised
 * subgraph process (`mesh serve sales`) starts without the code of every other command. Help loads them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  generate: async () => (await import('./commands/generate.js')).registerGenerate,
  run: async () => (await import('./commands/run.js')).registerRun,
  quality: async () => (await import('./commands/quality.js')).registerQuality,
  contracts: async () => (await import('./commands/contracts.js')).registerContracts,
  features: async () => (await import('./commands/features.js')).registerFeatures,
  schema: async () => (await import('./commands/schema.js')).registerSchema,
  domain: async () => (await import('./commands/domain.js')).registerDomain,
  lineage: async () => (await import('./commands/lineage.js')).registerLineage,
  train: async () => (await import('./commands/train.js')).registerTrain,
  slo: async () => (await import('./commands/slo.js')).registerSlo,
  cost: async () => (await import('./commands/cost.js')).registerCost,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  start: async () => (await import('./commands/start.js')).registerStart,
  schedule: async () => (await import('./commands/schedule.js')).registerSchedule,
  iam: async () => (await import('./commands/iam.js')).registerIam,
  store: async () => (await import('./commands/store.js')).registerStore,
  deploy: async () => (await import('./commands/deploy.js')).registerDeploy,
};
// `mesh serve` registers its siblings too.
for (const sibling of ['compose', 'gateway', 'token']) COMMANDS[sibling] = COMMANDS.serve!;

const program = new Command('mesh')
  .description('The marketplace data mesh: sources, contract-guarded pipelines, quality, and more')
  .showHelpAfterError()
  .exitOverride();

const invoked = process.argv[2];
const loaders =
  invoked && Object.hasOwn(COMMANDS, invoked) ? [COMMANDS[invoked]!] : [...new Set(Object.values(COMMANDS))];
for (const register of await Promise.all(loaders.map((load) => load()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (isMeshError(err)) {
    process.stderr.write(`\n✖ ${err.code}: ${err.message}\n`);
    // EX_TEMPFAIL: a lost race is worth running again (CI jobs may retry on it); anything else is a failure.
    process.exit(err.code === ErrorCode.CONFLICT ? 75 : 1);
  }
  throw err;
}
