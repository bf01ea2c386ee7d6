import path from 'node:path';
import { Command } from 'commander';
import { listDomains, loadConfig, writeAtomic } from '../../platform/index.js';
import { iamInputs, loadPolicy, loadRoles, meshIamPolicies, terraformModule } from '../../governance/index.js';

export function registerIam(program: Command): void {
  const iam = program.command('iam').description('storage access: IAM policies derived from roles.yaml and contracts');
  iam
    .command('policies')
    .description(
      'write one AWS IAM identity policy per role as DIR/<role>.json, and a Terraform module (DIR/main.tf.json) ' +
        'creating the buckets and policies',
    )
    .requiredOption('--out <dir>', 'directory to write')
    .action((o: { out: string }) => {
      const config = loadConfig();
      const inputs = iamInputs(listDomains(config.domainsDir), loadRoles(), loadPolicy(), config.buckets);
      const policies = meshIamPolicies(inputs);
      const files: [string, unknown][] = [
        ...[...policies].map(([role, doc]): [string, unknown] => [`${role}.json`, doc]),
        ['main.tf.json', terraformModule(inputs, [...policies.keys()])],
      ];
      for (const [name, body] of files) writeAtomic(path.join(o.out, name), `${JSON.stringify(body, null, 2)}\n`);
      process.stdout.write(
        `✔ ${policies.size} policies for ${inputs.domains.length} domains, and main.tf.json, in ${o.out}\n`,
      );
    });
}
