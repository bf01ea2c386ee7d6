import path from 'node:path';
import { Command } from 'commander';
import { REPO_ROOT } from '../../platform/index.js';
import { createDomain, findDomain, seedSample } from '../scaffold/domain.js';
import { createMeshPlatform } from '../platform.js';

export function registerDomain(program: Command): void {
  const domain = program.command('domain').description('self-service for domain teams');
  domain
    .command('create')
    .description(
      'scaffold a new domain (contract, pipeline, schema, resolvers, feature view, changelog, test, sample data) and ' +
        'add it to supergraph.yaml',
    )
    .argument('<name>', 'one lower-case word')
    .option('--owner <team>', 'owning team (default: <name>-data)')
    .option('--no-seed', 'do not load the sample raw data into the object store')
    .action(async (name: string, o: { owner?: string; seed: boolean }) => {
      const platform = createMeshPlatform();
      const created = createDomain(platform, name, o.owner);
      const seeded = o.seed ? await seedSample(platform, findDomain(platform, name)) : [];
      process.stdout.write(
        [
          `created ${path.relative(REPO_ROOT, created.dir)}/ (${created.files.length} files), subgraph ` +
            `at ${created.routingUrl}`,
          ...(seeded.length ? [`sample raw data: ${seeded.join(', ')}`] : []),
          'next:',
          `  npx mesh run ${name}                 # raw → curated`,
          `  npx mesh features apply && npx mesh features compute customer_${name}`,
          `  npx mesh schema check ${name}        # composes with the other subgraphs`,
          '  npm start                           # serves it beside the others',
          '',
        ].join('\n'),
      );
    });
}
