import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { listDomains, loadConfig, writeAtomic } from '../../platform/index.js';
import { loadSupergraphConfig } from '../../governance/index.js';
import { loadSchedules } from '../../jobs/index.js';
import { kubernetesManifests, renderManifests } from '../deploy/kubernetes.js';

/** The platform's own subgraphs: the command that serves each, and the storage role it reads as. */
const PLATFORM_SERVERS = {
  features: { args: ['features', 'serve'], role: 'feature-store' },
  metadata: { args: ['lineage', 'serve'], role: 'analyst' },
};

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
  return n;
};

const memoryList = (v: string): Record<string, number> =>
  Object.fromEntries(
    v.split(',').map((pair) => {
      const [name, mb] = pair.split('=');
      if (!name || !(Number(mb) > 0)) throw new InvalidArgumentError(`--memory: "${pair}" is not <server>=<MiB>`);
      return [name.trim(), Number(mb)];
    }),
  );

export function registerDeploy(program: Command): void {
  const deploy = program.command('deploy').description('deployment manifests rendered from the mesh definitions');
  deploy
    .command('k8s')
    .description(
      'Kubernetes manifests from supergraph.yaml, the contracts and the storage roles: a Deployment, Service, ' +
        'PodDisruptionBudget and HorizontalPodAutoscaler per server, a CronJob per domain pipeline and for the ' +
        'feature jobs, a service account per storage role, a ConfigMap, and a kustomization',
    )
    .requiredOption('--out <dir>', 'directory to write')
    .option('--image <ref>', "the project's container image (the Dockerfile's)", 'marketplace-data-mesh:latest')
    .option('--namespace <name>', 'Kubernetes namespace', 'mesh')
    .option('--replicas <n>', 'pods per server', positive('--replicas'), 2)
    .option('--aws-account-id <id>', 'annotate service accounts with their IAM role (EKS IRSA)')
    .option('--role-prefix <prefix>', 'prefix of the IAM role names', 'mesh-')
    .option(
      '--memory <list>',
      'memory requests in MiB from measured RSS, e.g. mesh-sales=900,mesh-gateway=400 (default 768 per subgraph, ' +
        '384 for the gateway)',
      memoryList,
      {},
    )
    .action(
      (o: {
        out: string;
        image: string;
        namespace: string;
        replicas: number;
        awsAccountId?: string;
        rolePrefix: string;
        memory: Record<string, number>;
      }) => {
        const config = loadConfig();
        const domains = listDomains(config.domainsDir);
        const files = kubernetesManifests(
          {
            subgraphs: loadSupergraphConfig(config.gateway.config),
            domains: domains.map((d) => d.name),
            schedules: loadSchedules(domains),
            config,
            platformServers: PLATFORM_SERVERS,
          },
          { ...o, memoryMb: o.memory },
        );
        const rendered = renderManifests(files, o.namespace);
        for (const [file, text] of Object.entries(rendered)) writeAtomic(path.join(o.out, file), text);
        const objects = Object.values(files).flat().length;
        process.stdout.write(`✔ ${objects} objects in ${Object.keys(rendered).length} files in ${o.out}\n`);
      },
    );
}
