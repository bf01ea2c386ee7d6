import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { loadConfig, REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { loadSupergraphConfig } from '../../governance/composition.js';
import { iamInputs, meshIamPolicies } from '../../governance/iam.js';
import { loadRoles } from '../../governance/access.js';
import { loadPolicy } from '../../governance/policy.js';
import { loadSchedules } from '../../jobs/schedule/definitions.js';
import { tempDir } from '../../platform/test/helpers.js';

const exec = promisify(execFile);
// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own object type; the test feeds it YAML.
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/CronJob': CronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: read as the API defines it, checked by the assertions.
  spec?: any;
  data?: Record<string, string>;
}

describe('mesh deploy k8s', async () => {
  const out = tempDir();
  await exec(
    process.execPath,
    [path.join(REPO_ROOT, 'cli', 'bin.js'), 'deploy', 'k8s', '--out', out, '--image', 'registry.example/mesh:1.0'],
    { env: { ...process.env, MESH_LOG_LEVEL: 'silent' } },
  );
  const kustomization = parse(fs.readFileSync(path.join(out, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const objects: K8sObject[] = kustomization.resources.flatMap((f) =>
    parseAllDocuments(fs.readFileSync(path.join(out, f), 'utf8')).map((d) => d.toJS() as K8sObject),
  );
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const config = loadConfig();
  const subgraphs = loadSupergraphConfig(config.gateway.config);

  it('writes only objects the Kubernetes API schemas accept (and the schemas refuse a broken one)', () => {
    expect(fs.readdirSync(out).sort()).toEqual([...kustomization.resources, 'kustomization.yaml'].sort());
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    const deployment = of('Deployment')[0]!;
    expect(() => new Deployment({ ...deployment, spec: { ...deployment.spec, replicas: 'two' } }).validate()).toThrow();
    expect(() =>
      new Service({ ...of('Service')[0]!, spec: { ports: [{ port: 'http' as unknown as number }] } }).validate(),
    ).toThrow();
  });

  it('runs every subgraph of supergraph.yaml and the gateway, each behind a Service selecting its pods', () => {
    const servers = [...subgraphs.map((s) => ({ name: `mesh-${s.name}`, port: Number(new URL(s.url).port) }))];
    servers.push({ name: 'mesh-gateway', port: config.gateway.port });
    expect(
      of('Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(servers.map((s) => s.name).sort());
    for (const { name, port } of servers) {
      const deployment = of('Deployment').find((d) => d.metadata.name === name)!;
      const service = of('Service').find((s) => s.metadata.name === name)!;
      const pod = deployment.spec.template;
      const container = pod.spec.containers[0];
      // The Service selects exactly this Deployment's pods, and its port reaches the container's.
      for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>))
        expect(pod.metadata.labels[k], `${name} ${k}`).toBe(v);
      for (const other of of('Deployment').filter((d) => d !== deployment))
        expect(
          Object.entries(service.spec.selector).every(([k, v]) => other.spec.template.metadata.labels[k] === v),
        ).toBe(false);
      expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);
      expect(container.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(container.image).toBe('registry.example/mesh:1.0');
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
      for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler'])
        expect(of(kind).some((o) => o.metadata.name === name)).toBe(true);
    }
  });

  it('routes the gateway to the Services, reading schema files the image holds', () => {
    const [configMap] = of('ConfigMap');
    const routed = parse(configMap!.data!['supergraph.yaml']!) as {
      subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
    };
    for (const s of subgraphs) {
      const r = routed.subgraphs[s.name]!;
      expect(r.routing_url).toBe(`http://mesh-${s.name}.mesh.svc.cluster.local:${new URL(s.url).port}/graphql`);
      // The image's /app is this repository (the Dockerfile's WORKDIR).
      expect(fs.existsSync(path.join(REPO_ROOT, path.relative('/app', r.schema.file)))).toBe(true);
    }
    expect(fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).toMatch(/^WORKDIR \/app$/m);
    expect(configMap!.data).toMatchObject({ MESH_HTTP_HOST: '0.0.0.0', MESH_STORE: 's3', MESH_REPLICAS: '2' });
  });

  it('runs each pod as a storage role of `mesh iam policies`, and each pipeline on its contract schedule', () => {
    const domains = listDomains(config.domainsDir);
    const roles = new Set(meshIamPolicies(iamInputs(domains, loadRoles(), loadPolicy(), config.buckets)).keys());
    const accounts = new Map(of('ServiceAccount').map((a) => [a.metadata.name, a]));
    const pods = [
      ...of('Deployment').map((d) => d.spec.template.spec),
      ...of('CronJob').map((c) => c.spec.jobTemplate.spec.template.spec),
    ];
    for (const pod of pods) {
      const account = accounts.get(pod.serviceAccountName);
      expect(account, pod.serviceAccountName).toBeDefined();
      expect(roles.has(account!.metadata.labels!['mesh/storage-role']!)).toBe(true);
    }
    const accountOf = (kind: string, name: string) =>
      [...of(kind)].find((o) => o.metadata.name === name)!.spec.template?.spec.serviceAccountName;
    expect(accountOf('Deployment', 'mesh-sales')).toBe('mesh-sales-serving');
    expect(accountOf('Deployment', 'mesh-gateway')).toBe('mesh-gateway');
    for (const s of loadSchedules(domains)) {
      const job = of('CronJob').find((c) => c.metadata.name === `mesh-${s.domain}-pipeline`)!;
      expect(job.spec.schedule).toBe(s.cron);
      expect(job.spec.concurrencyPolicy).toBe('Forbid');
      expect(job.spec.jobTemplate.spec.template.spec.serviceAccountName).toBe(`mesh-${s.domain}-pipeline`);
    }
  });
});
