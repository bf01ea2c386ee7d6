import path from 'node:path';
import { stringify } from 'yaml';
import { MeshError, ErrorCode, REPO_ROOT, type MeshConfig } from '../../platform/index.js';
import type { SubgraphSource } from '../../governance/index.js';
import type { DomainSchedule } from '../../jobs/index.js';

/** A Kubernetes object, as rendered: validated against the API schemas by the tests. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, unknown>;
} & Record<string, unknown>;

export interface KubernetesOptions {
  image: string;
  namespace: string;
  /** Pods per server (the gateway, every subgraph, the feature server, the metadata server). */
  replicas: number;
  /** With an AWS account, each service account is annotated with its IAM role (EKS IRSA): `<rolePrefix><role>`. */
  awsAccountId?: string;
  rolePrefix: string;
  /** Memory requested per server, in MiB: measured RSS with headroom (defaults below until the bench measures it). */
  memoryMb: Record<string, number>;
}

/** What the renderer reads: supergraph.yaml's subgraphs, the domains and their schedules, the bucket layout. */
export interface KubernetesInputs {
  subgraphs: SubgraphSource[];
  domains: string[];
  schedules: DomainSchedule[];
  config: Pick<MeshConfig, 'buckets' | 'gateway'>;
  /** The platform's own subgraphs and the command that serves each. */
  platformServers: Record<string, { args: string[]; role: string }>;
}

/** The image's working directory (the Dockerfile's WORKDIR): schema files are read from there. */
const APP = '/app';
const CONFIG_DIR = '/etc/mesh';
const SUPERGRAPH_DIR = '/var/run/mesh';
/** The S3 object cache and the subgraphs' serving copies: the pod's own disk, built again by a new pod. */
const CACHE_DIR = '/var/cache/mesh';
const CONFIG_MAP = 'mesh-config';
// Secrets by reference only, held by the cluster: MESH_MASKING_KEY, MESH_JWT_SECRET, MESH_INTERNAL_SECRET, REDIS_URL,
// MESH_CONTROL_DB (the control plane every pod shares).
const SECRET = 'mesh-secrets';
const DEFAULT_MEMORY_MB = { gateway: 384, subgraph: 768 };

interface Server {
  name: string;
  component: 'gateway' | 'subgraph';
  args: string[];
  port: number;
  role: string;
}

const labels = (name: string, component: string) => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'mesh',
});
const serviceAccount = (role: string) => `mesh-${role}`;
const portOf = (url: string) => Number(new URL(url).port || 80);

/**
 * The mesh as Kubernetes objects, one file per server or job: a Deployment, Service, PodDisruptionBudget and
 * HorizontalPodAutoscaler per server; a CronJob per domain pipeline on its contract's schedule, and one for the feature
 * jobs; a service account per storage role of `mesh iam policies`; the configuration as a ConfigMap.
 */
export function kubernetesManifests(inputs: KubernetesInputs, o: KubernetesOptions): Record<string, Manifest[]> {
  const servers: Server[] = inputs.subgraphs.map((s) => {
    const own = inputs.platformServers[s.name];
    if (own)
      return { name: `mesh-${s.name}`, component: 'subgraph', args: own.args, port: portOf(s.url), role: own.role };
    if (!inputs.domains.includes(s.name))
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        `supergraph.yaml: subgraph "${s.name}" is neither a domain nor a platform server: nothing serves it`,
      );
    return {
      name: `mesh-${s.name}`,
      component: 'subgraph',
      args: ['serve', s.name],
      port: portOf(s.url),
      role: `${s.name}-serving`,
    };
  });
  const gateway: Server = {
    name: 'mesh-gateway',
    component: 'gateway',
    args: ['gateway', '--supergraph', `${SUPERGRAPH_DIR}/supergraph.graphql`],
    port: inputs.config.gateway.port,
    role: 'gateway',
  };
  const jobs = [
    ...inputs.schedules.map((s) => ({
      name: `mesh-${s.domain}-pipeline`,
      schedule: s.cron,
      retries: s.retries,
      role: `${s.domain}-pipeline`,
      script: `npx mesh run ${s.domain} --no-features && npx mesh quality ${s.domain} --gate`,
    })),
    {
      name: 'mesh-feature-jobs',
      schedule: '30 * * * *',
      retries: 2,
      role: 'feature-store',
      script: 'npx mesh features compute && npx mesh features materialize-incremental',
    },
  ];
  const roles = [...new Set([...servers, gateway, ...jobs].map((x) => x.role))];
  const files: Record<string, Manifest[]> = {
    'config.yaml': [configMap(inputs, servers, o)],
    'service-accounts.yaml': roles.map((r) => serviceAccountOf(r, o)),
  };
  for (const s of [gateway, ...servers]) files[`${s.name}.yaml`] = server(s, o);
  for (const j of jobs) files[`${j.name}.yaml`] = [cronJob(j, o)];
  return files;
}

function configMap(inputs: KubernetesInputs, servers: Server[], o: KubernetesOptions): Manifest {
  // Subgraphs are reached through their Services; schema files come from the image.
  const supergraph = {
    federation_version: '=2.9.0',
    subgraphs: Object.fromEntries(
      inputs.subgraphs.map((s, i) => [
        s.name,
        {
          routing_url: `http://${servers[i]!.name}.${o.namespace}.svc.cluster.local:${servers[i]!.port}/graphql`,
          schema: {
            file: path.posix.join(
              APP,
              path
                .relative(REPO_ROOT, s.schemaFile ?? '')
                .split(path.sep)
                .join('/'),
            ),
          },
        },
      ]),
    ),
  };
  const { template, overrides } = inputs.config.buckets;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP, namespace: o.namespace, labels: labels('mesh', 'config') },
    data: {
      MESH_ENV: 'production',
      MESH_HTTP_HOST: '0.0.0.0',
      // Every server knows it runs as replicas: the feature server then refuses a file-backed online store.
      MESH_REPLICAS: String(o.replicas),
      MESH_STORE: 's3',
      MESH_S3_BUCKET_TEMPLATE: template,
      ...(Object.keys(overrides).length
        ? {
            MESH_S3_BUCKETS: Object.entries(overrides)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          }
        : {}),
      MESH_SUPERGRAPH_CONFIG: `${CONFIG_DIR}/supergraph.yaml`,
      MESH_CACHE_DIR: CACHE_DIR,
      'supergraph.yaml': stringify(supergraph),
    },
  };
}

function serviceAccountOf(role: string, o: KubernetesOptions): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: serviceAccount(role),
      namespace: o.namespace,
      labels: { ...labels(serviceAccount(role), 'storage-role'), 'mesh/storage-role': role },
      ...(o.awsAccountId
        ? {
            annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${o.awsAccountId}:role/${o.rolePrefix}${role}` },
          }
        : {}),
    },
  };
}

const environment = { envFrom: [{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: SECRET } }] };
const configVolume = {
  name: 'config',
  configMap: { name: CONFIG_MAP, items: [{ key: 'supergraph.yaml', path: 'supergraph.yaml' }] },
};

function server(s: Server, o: KubernetesOptions): Manifest[] {
  const meta = { name: s.name, namespace: o.namespace, labels: labels(s.name, s.component) };
  const selector = { matchLabels: { 'app.kubernetes.io/name': s.name } };
  const memory = o.memoryMb[s.name] ?? DEFAULT_MEMORY_MB[s.component];
  const probe = (delay: number) => ({
    httpGet: { path: '/health', port: 'http' },
    initialDelaySeconds: delay,
    periodSeconds: 10,
    timeoutSeconds: 3,
  });
  const container = {
    name: s.component,
    image: o.image,
    command: ['npx', 'mesh'],
    args: s.args,
    ports: [{ name: 'http', containerPort: s.port }],
    ...environment,
    readinessProbe: probe(5),
    livenessProbe: { ...probe(30), failureThreshold: 3 },
    resources: { requests: { cpu: '250m', memory: `${memory}Mi` }, limits: { memory: `${Math.ceil(memory * 1.5)}Mi` } },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'cache', mountPath: CACHE_DIR },
      ...(s.component === 'gateway' ? [{ name: 'supergraph', mountPath: SUPERGRAPH_DIR }] : []),
    ],
  };
  // The gateway composes the supergraph from the ConfigMap's supergraph.yaml before it starts.
  const compose = {
    name: 'compose',
    image: o.image,
    command: ['npx', 'mesh'],
    args: ['compose', '--out', `${SUPERGRAPH_DIR}/supergraph.graphql`],
    ...environment,
    volumeMounts: container.volumeMounts,
  };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: o.replicas,
        selector,
        template: {
          metadata: { labels: meta.labels },
          spec: {
            serviceAccountName: serviceAccount(s.role),
            ...(s.component === 'gateway' ? { initContainers: [compose] } : {}),
            containers: [container],
            volumes: [
              configVolume,
              { name: 'cache', emptyDir: {} },
              ...(s.component === 'gateway' ? [{ name: 'supergraph', emptyDir: {} }] : []),
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { selector: selector.matchLabels, ports: [{ name: 'http', port: s.port, targetPort: 'http' }] },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta,
      spec: { minAvailable: 1, selector },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
        minReplicas: o.replicas,
        maxReplicas: o.replicas * 4,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    },
  ];
}

function cronJob(
  j: { name: string; schedule: string; retries: number; role: string; script: string },
  o: KubernetesOptions,
): Manifest {
  const meta = { name: j.name, namespace: o.namespace, labels: labels(j.name, 'job') };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta,
    spec: {
      schedule: j.schedule,
      timeZone: 'Etc/UTC',
      // One run of a domain at a time, as the embedded scheduler and the Airflow DAGs do.
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          backoffLimit: j.retries,
          template: {
            metadata: { labels: meta.labels },
            spec: {
              serviceAccountName: serviceAccount(j.role),
              restartPolicy: 'Never',
              containers: [{ name: 'job', image: o.image, command: ['sh', '-c', j.script], ...environment }],
            },
          },
        },
      },
    },
  };
}

/** The files, each a multi-document YAML stream, and a kustomization listing them. */
export function renderManifests(files: Record<string, Manifest[]>, namespace: string): Record<string, string> {
  const out = Object.fromEntries(
    Object.entries(files).map(([file, docs]) => [
      file,
      docs.map((d) => stringify(d, { aliasDuplicateObjects: false })).join('---\n'),
    ]),
  );
  out['kustomization.yaml'] = stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace,
    resources: Object.keys(files).sort(),
  });
  return out;
}
