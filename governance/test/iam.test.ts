import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// AGPL-3.0: a test dependency only, never imported by the platform.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { iamInputs, meshIamPolicies, type IamPolicyDocument } from '../iam.js';
import { loadRoles } from '../access.js';
import { loadPolicy } from '../policy.js';
import { loadConfig, REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { tempDir } from '../../platform/test/helpers.js';

const exec = promisify(execFile);
const ACCOUNT = '123456789012';
const ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'] as const;
const LAYERS = ['raw', 'staged', 'curated', 'restricted', 'quarantine', 'features'] as const;
type Action = (typeof ACTIONS)[number];
type Layer = (typeof LAYERS)[number];

// Written from the rules of issue 36 and the contracts' PII, not from the code under test.
const HAS_PII: Record<string, boolean> = {
  sales: true,
  fulfillment: true,
  payments: true,
  catalog: false,
  campaigns: false,
};
const DOMAINS = Object.keys(HAS_PII);
const ROLES = [
  'platform-admin',
  'feature-store',
  'analyst',
  'gateway',
  ...DOMAINS.flatMap((d) => [`${d}-pipeline`, `${d}-serving`, `${d}-owner`]),
];

/** Whether `role` may do `action` on `layer` of the bucket of `owner` (a domain, or `platform`). */
function expected(role: string, action: Action, owner: string, layer: Layer): boolean {
  const read = action === 's3:GetObject' || action === 's3:ListBucket';
  const domainBucket = owner !== 'platform';
  if (role === 'platform-admin') return true;
  if (role === 'gateway') return false;
  // Analysts read every curated layer, never raw or restricted.
  if (role === 'analyst') return read && domainBucket && layer === 'curated';
  // The feature store reads curated data and writes features (the platform's features prefix holds the registry).
  if (role === 'feature-store') return layer === 'features' || (read && domainBucket && layer === 'curated');
  const [, domain, kind] = /^(.+)-(pipeline|serving|owner)$/.exec(role)!;
  const own = owner === domain;
  if (kind === 'pipeline') return own ? layer !== 'features' : read && domainBucket && layer === 'curated';
  // A subgraph reads its own restricted layer only when it has PII a role sees in clear (admins and owners do).
  if (kind === 'serving') return own && read && (layer === 'curated' || (layer === 'restricted' && HAS_PII[domain!]!));
  // roles.yaml: an owner sees its own domain's PII in clear and the others' masked.
  return read && (own || (domainBucket && layer === 'curated'));
}

async function decide(policy: IamPolicyDocument, role: string, action: string, bucket: string, key: string) {
  const list = action === 's3:ListBucket';
  const answer = await runSimulation(
    {
      identityPolicies: [{ name: role, policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
        resource: { accountId: ACCOUNT, resource: list ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}` },
        contextVariables: list ? { 's3:prefix': key } : {},
      },
    },
    {},
  );
  if (answer.resultType === 'error') throw new Error(`${role} ${action} ${bucket}/${key}: ${JSON.stringify(answer)}`);
  return answer.overallResult === 'Allowed';
}

/** Every decision that departs from the table: role × action × bucket × layer. */
async function departures(
  policies: Map<string, IamPolicyDocument>,
  template: string,
  roles = ROLES,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const role of roles)
    for (const action of ACTIONS)
      for (const owner of [...DOMAINS, 'platform'])
        for (const layer of LAYERS) {
          const bucket = template.replace('{domain}', owner);
          // An object in the layer, or (ListBucket) the layer's prefix.
          const key = action === 's3:ListBucket' ? `${layer}/` : `${layer}/orders/part-0.parquet`;
          const allowed = await decide(policies.get(role)!, role, action, bucket, key);
          if (allowed !== expected(role, action, owner, layer))
            wrong.push(`${role} ${action} ${bucket}/${layer}/: ${allowed ? 'allowed' : 'denied'}`);
        }
  return wrong;
}

describe('IAM policies derived from roles.yaml and the contracts', () => {
  const template = 'acme-mesh-{domain}';
  const inputs = iamInputs(listDomains(loadConfig().domainsDir), loadRoles(), loadPolicy(), {
    template,
    overrides: {},
  });
  const policies = meshIamPolicies(inputs);

  it('name one policy per role, and read which domains hold PII from their contracts', () => {
    expect([...policies.keys()].sort()).toEqual([...ROLES].sort());
    expect(Object.fromEntries(inputs.domains.map((d) => [d.name, d.hasPii]))).toEqual(HAS_PII);
  });

  it(
    'allow and deny, under AWS evaluation (iam-simulate), exactly what the table says: every role × action × ' +
      'bucket × layer',
    async () => {
      expect(await departures(policies, template)).toEqual([]);
    },
  );

  it('fail the table when one grant is planted wider or narrower', async () => {
    const plant = (role: string, edit: (doc: IamPolicyDocument) => void) => {
      const copy = new Map([...policies].map(([r, d]) => [r, structuredClone(d)]));
      edit(copy.get(role)!);
      return copy;
    };
    const widened = plant('analyst', (doc) => {
      for (const s of doc.Statement) s.Resource = s.Resource.map((r) => r.replace('/curated/*', '/*'));
    });
    expect(await departures(widened, template, ['analyst'])).toEqual(
      expect.arrayContaining(['analyst s3:GetObject acme-mesh-sales/raw/: allowed']),
    );
    const anyPrefix = plant('sales-serving', (doc) => {
      for (const s of doc.Statement) if (s.Condition) s.Condition.StringLike!['s3:prefix'] = ['*'];
    });
    expect(await departures(anyPrefix, template, ['sales-serving'])).toEqual(
      expect.arrayContaining(['sales-serving s3:ListBucket acme-mesh-sales/raw/: allowed']),
    );
    const noRestricted = plant('payments-serving', (doc) => {
      for (const s of doc.Statement) s.Resource = s.Resource.filter((r) => !r.includes('/restricted/'));
    });
    expect(await departures(noRestricted, template, ['payments-serving'])).toEqual([
      'payments-serving s3:GetObject acme-mesh-payments/restricted/: denied',
    ]);
  });

  it("let a pipeline write its own run records and job metrics in the platform's bucket, and no other's", async () => {
    const sales = policies.get('sales-pipeline')!;
    expect(await decide(sales, 'sales-pipeline', 's3:PutObject', 'acme-mesh-platform', 'runs/sales/r1.json')).toBe(
      true,
    );
    const metrics = 'metrics/jobs/pipeline.sales.json';
    expect(await decide(sales, 'sales-pipeline', 's3:PutObject', 'acme-mesh-platform', metrics)).toBe(true);
    expect(await decide(sales, 'sales-pipeline', 's3:PutObject', 'acme-mesh-platform', 'metrics/jobs/x.json')).toBe(
      false,
    );
    expect(await decide(sales, 'sales-pipeline', 's3:PutObject', 'acme-mesh-platform', 'runs/payments/r1.json')).toBe(
      false,
    );
    // The feature store quarantines feature rows and reports its jobs' metrics, and nothing else there.
    const features = policies.get('feature-store')!;
    for (const [bucket, key, allowed] of [
      ['acme-mesh-sales', 'quarantine/features/customer_orders@v1/q.parquet', true],
      ['acme-mesh-sales', 'quarantine/orders/q.parquet', false],
      ['acme-mesh-platform', 'metrics/jobs/features.materialize.json', true],
      ['acme-mesh-platform', 'features/registry.json', true],
      ['acme-mesh-platform', 'schemas/supergraph.graphql', false],
    ] as const)
      expect(await decide(features, 'feature-store', 's3:PutObject', bucket, key), key).toBe(allowed);
    // Listing a bucket without a prefix names every layer at once: only the admin may.
    for (const role of ROLES.filter((r) => r !== 'platform-admin'))
      expect(await decide(policies.get(role)!, role, 's3:ListBucket', 'acme-mesh-sales', ''), role).toBe(false);
  });

  it('are written by `mesh iam policies` with a Terraform module naming every bucket and policy file', async () => {
    const out = tempDir();
    await exec(process.execPath, [path.join(REPO_ROOT, 'cli', 'bin.js'), 'iam', 'policies', '--out', out], {
      env: { ...process.env, MESH_S3_BUCKET_TEMPLATE: template, MESH_LOG_LEVEL: 'silent' },
    });
    expect(fs.readdirSync(out).sort()).toEqual([...ROLES.map((r) => `${r}.json`), 'main.tf.json'].sort());
    for (const role of ROLES)
      expect(JSON.parse(fs.readFileSync(path.join(out, `${role}.json`), 'utf8'))).toEqual(policies.get(role));
    const tf = JSON.parse(fs.readFileSync(path.join(out, 'main.tf.json'), 'utf8'));
    const tfPolicies = tf.resource.aws_iam_policy as Record<string, { policy: string }>;
    expect(Object.keys(tfPolicies).sort()).toEqual([...ROLES].sort());
    for (const [role, p] of Object.entries(tfPolicies))
      expect(p.policy).toBe(`\${file("\${path.module}/${role}.json")}`);
    const buckets = Object.values(tf.resource.aws_s3_bucket as Record<string, { bucket: string; tags: object }>);
    expect(buckets.map((b) => b.bucket).sort()).toEqual(
      [...DOMAINS, 'platform'].map((o) => template.replace('{domain}', o)).sort(),
    );
  });

  it('refuse buckets S3 would refuse, or two domains in one bucket, naming the variable', () => {
    expect(() => loadConfig({ MESH_S3_BUCKET_TEMPLATE: 'acme-mesh' })).toThrow(/MESH_S3_BUCKET_TEMPLATE.*\{domain\}/);
    expect(() => loadConfig({ MESH_S3_BUCKET_TEMPLATE: 'Acme_{domain}' })).toThrow(/not an S3 bucket name/);
    expect(() => loadConfig({ MESH_S3_BUCKETS: 'sales' })).toThrow(/MESH_S3_BUCKETS: "sales" is not <domain>=<bucket>/);
    expect(() => loadConfig({ MESH_S3_BUCKETS: 'sales=Bad_Name' })).toThrow(/MESH_S3_BUCKETS sales gives "Bad_Name"/);
    // A sales job pointed at the payments bucket: refused before anything runs.
    expect(() => loadConfig({ MESH_S3_BUCKETS: 'sales=mesh-payments' })).toThrow(
      /sales and payments would share the bucket "mesh-payments"/,
    );
    expect(() => loadConfig({ MESH_S3_BUCKETS: 'sales=old-shop,payments=old-shop' })).toThrow(/would share/);
    expect(loadConfig({ MESH_S3_BUCKETS: 'sales=old-sales, payments=mesh-sales' }).buckets).toEqual({
      template: 'mesh-{domain}',
      overrides: { sales: 'old-sales', payments: 'mesh-sales' },
    });
    expect(loadConfig({}).buckets).toEqual({ template: 'mesh-{domain}', overrides: {} });
    expect(() => loadConfig({ MESH_STORE: 's3' })).toThrow(/MESH_S3_BUCKET_TEMPLATE .* or MESH_S3_BUCKET/);
  });
});
