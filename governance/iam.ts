import {
  FEATURE_REGISTRY_KEY,
  JOB_METRICS_PREFIX,
  jobMetricsKey,
  runsPrefix,
  STORE_LAYERS,
  type StoreLayer,
} from '../products/index.js';
import {
  bucketOf,
  ErrorCode,
  MeshError,
  PLATFORM_BUCKET_OWNER,
  splitKey,
  type BucketLayout,
  type DomainInfo,
} from '../platform/index.js';
import { knownRoles, piiAccess, type RolePolicy } from './access.js';
import { loadContract } from './contracts/load.js';
import { isPiiClassification, type GovernancePolicy } from './policy.js';

/** An AWS IAM identity policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export interface IamStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** What the policies are derived from: each domain, whether its contract holds PII, the role rules, the buckets. */
export interface IamInputs {
  domains: { name: string; hasPii: boolean }[];
  roles: RolePolicy;
  buckets: BucketLayout;
}

const READ = ['s3:GetObject'];
const WRITE = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
// What a pipeline writes in its own bucket: everything but the feature store's layer.
const PIPELINE_LAYERS: StoreLayer[] = ['raw', 'staged', 'curated', 'restricted', 'quarantine'];
// The layers that hold personal data in clear: only who sees the domain's PII in clear reads them.
const CLEAR_LAYERS: readonly StoreLayer[] = ['raw', 'staged', 'restricted', 'quarantine'];

const arn = (bucket: string, key = '') => `arn:aws:s3:::${bucket}${key}`;
const sid = (...words: string[]) => words.map((w) => w.replace(/[^A-Za-z0-9]/g, '')).join('');
const title = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

/**
 * Objects under `prefixes` of a bucket, and listing them: ListBucket names the bucket, so what it may list is the
 * `s3:prefix` of the request.
 */
function grant(name: string, bucket: string, prefixes: string[], actions: string[]): IamStatement[] {
  if (prefixes.length === 0) return [];
  return [
    {
      Sid: sid(name, 'Objects'),
      Effect: 'Allow',
      Action: actions,
      Resource: prefixes.map((p) => arn(bucket, `/${p}*`)),
    },
    {
      Sid: sid(name, 'List'),
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [arn(bucket)],
      Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
    },
  ];
}

const layers = (names: readonly StoreLayer[]) => names.map((l) => `${l}/`);

/**
 * Every key a domain's pipeline run may write, as prefixes of the mesh's key space: its own layers but features, its
 * run records and its job metrics. Its IAM policy grants these, and its run's store refuses anything else.
 */
export function pipelineWritePrefixes(domain: string): string[] {
  return [...PIPELINE_LAYERS.map((l) => `${domain}/${l}/`), runsPrefix(domain), jobMetricsKey(`pipeline.${domain}`)];
}

/**
 * Every key the feature store's jobs may write: each domain's offline feature tables and quarantined feature rows,
 * the registry, and the feature jobs' metrics.
 */
export function featureStoreWritePrefixes(domains: string[]): string[] {
  return [
    ...domains.flatMap((d) => [`${d}/features/`, `${d}/quarantine/features/`]),
    FEATURE_REGISTRY_KEY.slice(0, FEATURE_REGISTRY_KEY.lastIndexOf('/') + 1),
    `${JOB_METRICS_PREFIX}features.`,
  ];
}

const policy = (statements: IamStatement[]): IamPolicyDocument => ({ Version: '2012-10-17', Statement: statements });

/**
 * One identity policy per role, by role name: `platform-admin`, `<domain>-pipeline`, `<domain>-serving`,
 * `<domain>-owner`, `feature-store`, `analyst`, `gateway`. Data at rest follows the same rules as the gateway's fields:
 * a layer holding PII in clear (raw, staged, restricted, quarantine) is read only by who sees the domain's PII in
 * clear.
 */
export function meshIamPolicies(inputs: IamInputs): Map<string, IamPolicyDocument> {
  const { roles } = inputs;
  const names = inputs.domains.map((d) => d.name);
  if (names.includes(PLATFORM_BUCKET_OWNER))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `a domain named "${PLATFORM_BUCKET_OWNER}" would share its bucket`);
  const bucket = (owner: string) => bucketOf(inputs.buckets, owner);
  // Grants on prefixes of the key space, in the buckets they fall in.
  const grantKeys = (name: string, keyPrefixes: string[], actions: string[]) => {
    const keys = keyPrefixes.map(splitKey);
    return [...new Set(keys.map((k) => k.owner))].flatMap((o) =>
      grant(
        sid(name, title(o)),
        bucket(o),
        keys.filter((k) => k.owner === o).map((k) => k.rest),
        actions,
      ),
    );
  };
  const everyBucket = [...names, PLATFORM_BUCKET_OWNER].map(bucket);
  const sees = (role: string, domain: string) => piiAccess(roles, role, domain);
  // Curated data is masked: whoever may see PII at all reads it; the restricted layer only who sees it in clear.
  const readable = (role: string, domain: string): StoreLayer[] =>
    sees(role, domain) === 'clear' ? ['curated', 'restricted'] : sees(role, domain) === 'masked' ? ['curated'] : [];

  const out = new Map<string, IamPolicyDocument>();
  out.set(
    'platform-admin',
    policy([
      {
        Sid: 'EveryMeshBucket',
        Effect: 'Allow',
        Action: ['s3:*'],
        Resource: everyBucket.flatMap((b) => [arn(b), arn(b, '/*')]),
      },
    ]),
  );
  for (const d of inputs.domains) {
    const own = bucket(d.name);
    const others = names.filter((o) => o !== d.name);
    out.set(
      `${d.name}-pipeline`,
      policy([
        ...grantKeys('Write', pipelineWritePrefixes(d.name), WRITE),
        // Another domain's data is read through its curated layer only, as its data product offers it.
        ...others.flatMap((o) => grant(sid('Read', title(o), 'Curated'), bucket(o), layers(['curated']), READ)),
      ]),
    );
    // A subgraph serves clear PII to the roles that see it: it reads the restricted layer only if one such role exists.
    const clearFor = knownRoles(roles, names).some((r) => sees(r, d.name) === 'clear');
    out.set(
      `${d.name}-serving`,
      policy(grant('Serve', own, layers(d.hasPii && clearFor ? ['curated', 'restricted'] : ['curated']), READ)),
    );
    const owner = `${d.name}-owner`;
    const ownReadable: StoreLayer[] =
      sees(owner, d.name) === 'clear' ? [...STORE_LAYERS] : STORE_LAYERS.filter((l) => !CLEAR_LAYERS.includes(l));
    out.set(
      owner,
      policy([
        ...grant('OwnData', own, layers(ownReadable), READ),
        ...others.flatMap((o) => grant(sid('Read', title(o)), bucket(o), layers(readable(owner, o)), READ)),
      ]),
    );
  }
  out.set(
    'feature-store',
    policy([
      ...names.flatMap((d) => grant(sid('Read', title(d), 'Curated'), bucket(d), layers(['curated']), READ)),
      ...grantKeys('Features', featureStoreWritePrefixes(names), WRITE),
    ]),
  );
  out.set(
    'analyst',
    policy(names.flatMap((d) => grant(sid('Read', title(d)), bucket(d), layers(readable('analyst', d)), READ))),
  );
  // The gateway reads nothing at rest: subgraphs and the feature server answer it.
  out.set(
    'gateway',
    policy([
      {
        Sid: 'NoMeshBucket',
        Effect: 'Deny',
        Action: ['s3:*'],
        Resource: everyBucket.flatMap((b) => [arn(b), arn(b, '/*')]),
      },
    ]),
  );
  return out;
}

/** The policies' inputs for these domains: whether each contract classifies a column as PII. */
export function iamInputs(
  domains: DomainInfo[],
  roles: RolePolicy,
  governance: GovernancePolicy,
  buckets: BucketLayout,
): IamInputs {
  return {
    domains: domains.map((d) => ({
      name: d.name,
      hasPii: loadContract(d.contractFile, d.name).schema.some((o) =>
        (o.properties ?? []).some((p) => isPiiClassification(governance, p.classification)),
      ),
    })),
    roles,
    buckets,
  };
}

/**
 * A Terraform module (JSON syntax) beside the policy files: every bucket, tagged with its owner for cost allocation,
 * and one `aws_iam_policy` per role read from its file. Attaching them to roles or groups is the deployment's choice.
 */
export function terraformModule(inputs: IamInputs, roles: string[]): Record<string, unknown> {
  const owners = [...inputs.domains.map((d) => d.name), PLATFORM_BUCKET_OWNER];
  return {
    variable: { name_prefix: { type: 'string', default: 'mesh-', description: 'prefix of the IAM policy names' } },
    resource: {
      aws_s3_bucket: Object.fromEntries(
        owners.map((o) => [o, { bucket: bucketOf(inputs.buckets, o), tags: { 'mesh:domain': o } }]),
      ),
      aws_iam_policy: Object.fromEntries(
        roles.map((r) => [
          r,
          {
            name: `\${var.name_prefix}${r}`,
            policy: `\${file("\${path.module}/${r}.json")}`,
            tags: { 'mesh:role': r },
          },
        ]),
      ),
    },
    output: {
      buckets: { value: Object.fromEntries(owners.map((o) => [o, `\${aws_s3_bucket.${o}.id}`])) },
      policy_arns: { value: Object.fromEntries(roles.map((r) => [r, `\${aws_iam_policy.${r}.arn}`])) },
    },
  };
}
