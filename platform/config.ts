import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshError, ErrorCode } from './errors.js';
import type { LogOptions } from './log.js';

/** Repository root: domains, governance policy and contracts are read from here. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEV_MASKING_KEY = 'mesh-development-masking-key-do-not-use-in-production';
export const DEV_JWT_SECRET = 'mesh-development-jwt-secret-do-not-use-in-production';
export const DEV_INTERNAL_SECRET = 'mesh-development-internal-secret-do-not-use-in-production';

/** A bucket per domain and one for the platform: a template, and any bucket named otherwise. */
export interface BucketLayout {
  /** `{domain}` is replaced by the owner: a domain, or `platform`. */
  template: string;
  overrides: Record<string, string>;
}

export type StoreConfig =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      /** One bucket for every domain; with `buckets` too, only until `mesh store migrate --to-buckets` has run. */
      bucket?: string;
      /** A bucket per domain. */
      buckets?: BucketLayout;
      /**
       * The AWS profile a storage role works under (`{role}`: `sales-pipeline`, `feature-store`…): each domain's jobs
       * and subgraph with that domain's credentials. Unset: the SDK's default chain for everyone.
       */
      profileTemplate?: string;
      prefix: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      cacheDir: string;
    };

export type OnlineStoreConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'redis'; url: string; cluster: boolean; keyPrefix: string; commandTimeoutMs?: number };

export interface MeshConfig {
  env: 'development' | 'production';
  dataDir: string;
  domainsDir: string;
  store: StoreConfig;
  /**
   * The control database every machine shares (`postgres://…`): registries, scheduler state and leases. Unset, a
   * SQLite file under the data directory serves one machine.
   */
  controlDb?: string;
  /** How long a scheduler instance holds a domain's lease without renewing it (renewed every third of it). */
  scheduleLeaseMs: number;
  /** Replicas the deployment runs of each server (1: one machine); more refuse the file-backed online store. */
  replicas: number;
  /** Each domain's bucket and the platform's, as the IAM policies name them (and the store uses, when it has them). */
  buckets: BucketLayout;
  tmpDir: string;
  maskingKey: string;
  /** pino level, format (`auto`: words when stderr is a terminal), and the JSON log file of pretty mode. */
  log: LogOptions;
  duckdb: { threads?: number; memoryLimit?: string };
  auth: {
    /** HS256 secret of user tokens (ignored when a JWKS URL is set). */
    jwtSecret: string;
    /** RS256/ES256 user tokens verified against this JWKS. */
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /** Signs the identity the gateway forwards to subgraphs; subgraphs refuse requests without it. */
    internalSecret: string;
    /** User tokens must expire, no later than this many seconds after they were issued. */
    maxLifetimeSeconds: number;
    /** The development secrets are in use: anyone can mint tokens and identities (said once at start). */
    devSecrets: boolean;
  };
  /**
   * `config`: Rover's supergraph.yaml (routing URLs, schema files); `supergraphFile`: the composed SDL gateways serve.
   */
  gateway: {
    port: number;
    supergraphFile: string;
    config: string;
    /** How often a gateway following the registry asks the store for a new supergraph (plus up to half as jitter). */
    supergraphPollMs: number;
  };
  /** The address every server listens on: loopback on one machine, `0.0.0.0` in a container. */
  httpHost: string;
  /** `/metrics`: a bearer token scrapes must present (unset: open), and the client names kept as label values. */
  metrics: { token?: string; clients: string[] };
  /**
   * Deadlines in ms: a whole gateway request, one subgraph fetch, one serving DuckDB statement, one Redis command;
   * `hedgeMs`: how long a subgraph replica may take before the gateway asks another too.
   */
  timeouts: { requestMs: number; subgraphMs: number; statementMs: number; redisMs: number; hedgeMs: number };
  /** Request bodies over this many bytes are refused with 413 (every server). */
  maxBodyBytes: number;
  /**
   * Where domain subgraphs keep their serving copies (memory-mapped files of their key lookups, one per data version,
   * shared by the replicas of a host); undefined: every lookup is answered by DuckDB.
   */
  servingCopyDir: string | undefined;
  /** The event stream's broker (`nats://host:port`): stream sources are read from it, and the simulation publishes. */
  streamUrl?: string;
  /** At most this many stream messages land per micro-batch, so a consumer that lags catches up in bounded memory. */
  streamBatchMax: number;
  /** How often a scheduler lands a micro-batch of each stream-fed domain (what is new on its stream), in ms. */
  streamIntervalMs: number;
  /**
   * Admission control: each caller's cost budget (a token bucket of `capacity` points refilled at `refillPerSecond`;
   * capacity 0 turns budgets off), and the bounded pool that requests costing `heavyCost` or more run in.
   */
  admission: {
    capacity: number;
    refillPerSecond: number;
    heavyCost: number;
    heavyConcurrency: number;
    heavyWaitMs: number;
  };
  /** Most answers the gateway's response cache holds (0: off). */
  responseCacheEntries: number;
  /** `npm start` runs each domain's pipeline on its contract's schedule (the embedded scheduler). */
  scheduler: boolean;
  /**
   * How fast data time runs against the wall clock (the data clock, the live simulation's deliveries, schedules and
   * freshness all follow it); 0 stops `npm start`'s live simulation, leaving the data as generated.
   */
  simulationSpeed: number;
  /** How often the gateway samples its fetch counters to evaluate the data products' SLOs. */
  sloIntervalSeconds: number;
  /** Batch jobs also push their metrics here (a Prometheus Pushgateway), besides the object store. */
  pushgatewayUrl?: string;
  online: OnlineStoreConfig;
  /**
   * Feast REST errors: the mesh's `{ error: { code, message } }`, or Feast's own body its client decodes into
   * exceptions.
   */
  feastErrors: 'mesh' | 'feast';
  /**
   * Where the data clock starts (it then advances with the wall clock, times the simulation speed): what "now" means
   * when deciding a feature value's age and expiry. Unset: the wall clock. Tests pin it to their data's end, so they do
   * not break as the calendar moves.
   */
  now?: Date;
  /** The wall-clock instant at which the data clock read `now` (MESH_NOW_SINCE; default: when the process started). */
  nowSince?: Date;
  /**
   * Test hook: a job that reaches the fault point of this name kills itself there (MESH_FAULT_POINT). Inert unless set.
   */
  faultPoint?: string;
  /** Set by the supervisor for a process it starts gated (MESH_SUPERVISOR_GATE): it waits for a go before serving. */
  supervisorGate: boolean;
  lineage: {
    /** OpenLineage namespace of the mesh's jobs. */
    namespace: string;
    http?: { url: string; endpoint: string; apiKey?: string };
    file?: string;
    console: boolean;
    /** The platform's own lineage graph (embedded SQLite). */
    graphFile: string;
    spoolDir: string;
    datahub?: { gmsUrl: string; token?: string };
    /** The Airflow web UI running the generated DAGs: DataHub links each domain's pipeline to its DAG there. */
    airflowUrl?: string;
  };
}

type Env = Record<string, string | undefined>;

/** The variable the supervisor sets for a process it starts gated (read back as `supervisorGate`). */
export const SUPERVISOR_GATE_ENV = 'MESH_SUPERVISOR_GATE';

/**
 * The environment of a process this one starts: this process's own (a child reads the same variables, so it is
 * configured as this one is), with `extra` on top.
 */
export function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

// S3's naming rules, checked on the shortest and longest names a template may give (domains: 2-31 of a-z, 0-9).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bucketLayout(env: Env): BucketLayout {
  const template = env.MESH_S3_BUCKET_TEMPLATE || 'mesh-{domain}';
  if (!template.includes('{domain}'))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `MESH_S3_BUCKET_TEMPLATE "${template}" must contain {domain}`);
  const bad = (variable: string, name: string) =>
    new MeshError(
      ErrorCode.CONFIG_INVALID,
      `${variable} gives "${name}", not an S3 bucket name (3-63 of a-z, 0-9, dot and hyphen, starting and ending ` +
        'with a letter or digit)',
    );
  for (const owner of ['ab', 'platform', 'a'.repeat(31)])
    if (!BUCKET_NAME.test(template.replaceAll('{domain}', owner)))
      throw bad(`MESH_S3_BUCKET_TEMPLATE "${template}"`, template.replaceAll('{domain}', owner));
  const overrides: Record<string, string> = {};
  for (const pair of (env.MESH_S3_BUCKETS ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [owner, bucket, extra] = pair.split('=').map((p) => p.trim());
    if (!owner || !bucket || extra !== undefined)
      throw new MeshError(ErrorCode.CONFIG_INVALID, `MESH_S3_BUCKETS: "${pair}" is not <domain>=<bucket>`);
    if (!BUCKET_NAME.test(bucket)) throw bad(`MESH_S3_BUCKETS ${owner}`, bucket);
    overrides[owner] = bucket;
  }
  // Two owners in one bucket would undo the fence between them: a sales job writing the payments bucket.
  const [before, after] = template.split('{domain}') as [string, string];
  for (const [owner, bucket] of Object.entries(overrides)) {
    const named =
      bucket.startsWith(before) && bucket.endsWith(after) && bucket.slice(before.length, -after.length || undefined);
    const clash =
      Object.keys(overrides).find((o) => o !== owner && overrides[o] === bucket) ??
      (named && named !== owner && !overrides[named] && /^[a-z0-9]+$/.test(named) ? named : undefined);
    if (clash)
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        `MESH_S3_BUCKETS: ${owner} and ${clash} would share the bucket "${bucket}": each domain needs its own`,
      );
  }
  return { template, overrides };
}

function controlDb(env: Env): string | undefined {
  const url = env.MESH_CONTROL_DB || undefined;
  if (url && !/^postgres(ql)?:\/\//.test(url))
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      'MESH_CONTROL_DB must be a PostgreSQL URL (postgres://user:password@host:5432/db); unset, the control plane ' +
        'is a SQLite file under MESH_DATA_DIR',
    );
  return url;
}

function profileTemplate(env: Env): string | undefined {
  const template = env.MESH_S3_PROFILE_TEMPLATE || undefined;
  if (template && !template.includes('{role}'))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `MESH_S3_PROFILE_TEMPLATE "${template}" must contain {role}`);
  return template;
}

/** The one place that reads the environment. Every variable is listed in the README's table. */
export function loadConfig(env: Env = process.env): MeshConfig {
  const meshEnv = oneOf(env, 'MESH_ENV', ['development', 'production'] as const, 'development');
  const dataDir = path.resolve(env.MESH_DATA_DIR || path.join(REPO_ROOT, '.mesh'));
  const storeKind = oneOf(env, 'MESH_STORE', ['local', 's3'] as const, 'local');
  const cacheDir = path.resolve(env.MESH_CACHE_DIR || path.join(dataDir, '.cache'));
  const buckets = bucketLayout(env);
  let store: StoreConfig;
  if (storeKind === 's3') {
    const bucket = env.MESH_S3_BUCKET || undefined;
    if (!bucket && !env.MESH_S3_BUCKET_TEMPLATE)
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        'MESH_STORE=s3 needs MESH_S3_BUCKET_TEMPLATE (a bucket per domain) or MESH_S3_BUCKET (one bucket)',
      );
    const endpoint = env.MESH_S3_ENDPOINT || undefined;
    store = {
      kind: 's3',
      bucket,
      buckets: env.MESH_S3_BUCKET_TEMPLATE ? buckets : undefined,
      profileTemplate: profileTemplate(env),
      prefix: (env.MESH_S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''),
      region: env.MESH_S3_REGION || env.AWS_REGION || 'us-east-1',
      endpoint,
      forcePathStyle: bool(env, 'MESH_S3_FORCE_PATH_STYLE', endpoint !== undefined),
      cacheDir,
    };
  } else {
    store = { kind: 'local', root: dataDir };
  }
  const maskingKey = env.MESH_MASKING_KEY || DEV_MASKING_KEY;
  const jwtSecret = env.MESH_JWT_SECRET || DEV_JWT_SECRET;
  const internalSecret = env.MESH_INTERNAL_SECRET || DEV_INTERNAL_SECRET;
  if (meshEnv === 'production') {
    productionSecret('MESH_MASKING_KEY', maskingKey);
    if (!env.MESH_JWKS_URL) productionSecret('MESH_JWT_SECRET or MESH_JWKS_URL', jwtSecret);
    productionSecret('MESH_INTERNAL_SECRET', internalSecret);
    const shared = [maskingKey, internalSecret, ...(env.MESH_JWKS_URL ? [] : [jwtSecret])];
    if (new Set(shared).size < shared.length)
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        'MESH_ENV=production needs MESH_MASKING_KEY, MESH_JWT_SECRET and MESH_INTERNAL_SECRET to differ: one leaked ' +
          'secret must not open the others',
      );
  }
  // A setting that no longer does anything must not look as if it did.
  if (env.MESH_SERVING_MEMORY_MB !== undefined)
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      'MESH_SERVING_MEMORY_MB is no longer read: serving copies are memory-mapped files under MESH_CACHE_DIR, not ' +
        'held on the heap, whatever the data size (MESH_SERVING_COPY=false turns them off). Unset it.',
    );
  const port = portNumber(env, 'MESH_GATEWAY_PORT', 4000);
  const threads = env.MESH_DUCKDB_THREADS ? Number(env.MESH_DUCKDB_THREADS) : undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) {
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      `MESH_DUCKDB_THREADS must be a positive integer, got "${env.MESH_DUCKDB_THREADS}"`,
    );
  }
  return {
    env: meshEnv,
    dataDir,
    domainsDir: path.resolve(env.MESH_DOMAINS_DIR || path.join(REPO_ROOT, 'subgraphs')),
    store,
    controlDb: controlDb(env),
    replicas: positiveInteger(env, 'MESH_REPLICAS', 1),
    scheduleLeaseMs: positiveNumber(env, 'MESH_SCHEDULE_LEASE_MS', 30_000),
    buckets,
    httpHost: env.MESH_HTTP_HOST || '127.0.0.1',
    tmpDir: path.join(dataDir, '.tmp'),
    maskingKey,
    log: {
      level: env.MESH_LOG_LEVEL || 'info',
      format: oneOf(env, 'MESH_LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto'),
      file: path.resolve(env.MESH_LOG_FILE || path.join(dataDir, 'logs', 'mesh.log')),
    },
    duckdb: { threads, memoryLimit: env.MESH_DUCKDB_MEMORY_LIMIT || undefined },
    auth: {
      jwtSecret,
      jwksUrl: env.MESH_JWKS_URL || undefined,
      issuer: env.MESH_JWT_ISSUER || undefined,
      audience: env.MESH_JWT_AUDIENCE || undefined,
      internalSecret,
      maxLifetimeSeconds: positiveNumber(env, 'MESH_JWT_MAX_LIFETIME', 86_400),
      devSecrets:
        maskingKey === DEV_MASKING_KEY ||
        (!env.MESH_JWKS_URL && jwtSecret === DEV_JWT_SECRET) ||
        internalSecret === DEV_INTERNAL_SECRET,
    },
    gateway: {
      port,
      supergraphFile: path.resolve(env.MESH_SUPERGRAPH_FILE || path.join(dataDir, 'supergraph.graphql')),
      config: path.resolve(env.MESH_SUPERGRAPH_CONFIG || path.join(REPO_ROOT, 'supergraph.yaml')),
      supergraphPollMs: positiveNumber(env, 'MESH_SUPERGRAPH_POLL_MS', 10_000),
    },
    sloIntervalSeconds: positiveNumber(env, 'MESH_SLO_INTERVAL_SECONDS', 15),
    maxBodyBytes: positiveNumber(env, 'MESH_MAX_BODY_BYTES', 1024 * 1024),
    servingCopyDir: bool(env, 'MESH_SERVING_COPY', true) ? path.join(cacheDir, 'serving') : undefined,
    streamUrl: env.MESH_STREAM_URL || undefined,
    streamBatchMax: positiveNumber(env, 'MESH_STREAM_BATCH_MAX', 100_000),
    streamIntervalMs: positiveNumber(env, 'MESH_STREAM_INTERVAL_SECONDS', 5) * 1000,
    responseCacheEntries: nonNegativeInteger(env, 'MESH_RESPONSE_CACHE_ENTRIES', 10_000),
    admission: {
      // One caller's share: ten seconds of burst, then a steady rate well under what one gateway serves.
      capacity: nonNegativeInteger(env, 'MESH_COST_BUDGET', 50_000),
      refillPerSecond: positiveNumber(env, 'MESH_COST_REFILL_PER_SECOND', 5_000),
      heavyCost: positiveNumber(env, 'MESH_HEAVY_COST', 300),
      // Heavy work leaves a core to everything else.
      heavyConcurrency: positiveInteger(env, 'MESH_HEAVY_CONCURRENCY', Math.max(1, os.availableParallelism() - 1)),
      heavyWaitMs: nonNegativeInteger(env, 'MESH_HEAVY_WAIT_MS', 2_000),
    },
    scheduler: bool(env, 'MESH_SCHEDULER', true),
    simulationSpeed: nonNegativeNumber(env, 'MESH_SIMULATION_SPEED', 1),
    timeouts: {
      requestMs: positiveNumber(env, 'MESH_REQUEST_TIMEOUT_MS', 30_000),
      subgraphMs: positiveNumber(env, 'MESH_SUBGRAPH_TIMEOUT_MS', 10_000),
      hedgeMs: positiveNumber(env, 'MESH_SUBGRAPH_HEDGE_MS', 300),
      statementMs: positiveNumber(env, 'MESH_STATEMENT_TIMEOUT_MS', 5_000),
      redisMs: positiveNumber(env, 'MESH_REDIS_TIMEOUT_MS', 1_000),
    },
    metrics: {
      token: env.MESH_METRICS_TOKEN || undefined,
      clients: (env.MESH_METRICS_CLIENTS ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    },
    feastErrors: oneOf(env, 'MESH_FEAST_ERRORS', ['mesh', 'feast'] as const, 'mesh'),
    now: instant(env, 'MESH_NOW'),
    nowSince: instant(env, 'MESH_NOW_SINCE'),
    faultPoint: env.MESH_FAULT_POINT || undefined,
    supervisorGate: env.MESH_SUPERVISOR_GATE === '1',
    pushgatewayUrl: env.MESH_PUSHGATEWAY_URL || undefined,
    lineage: {
      namespace: env.OPENLINEAGE_NAMESPACE || 'mesh',
      http: env.OPENLINEAGE_URL
        ? {
            url: env.OPENLINEAGE_URL,
            endpoint: env.OPENLINEAGE_ENDPOINT || 'api/v1/lineage',
            apiKey: env.OPENLINEAGE_API_KEY || undefined,
          }
        : undefined,
      file: env.MESH_LINEAGE_FILE ? path.resolve(env.MESH_LINEAGE_FILE) : undefined,
      console: bool(env, 'MESH_LINEAGE_CONSOLE', false),
      graphFile: path.join(dataDir, 'lineage.sqlite'),
      spoolDir: path.join(dataDir, 'lineage-spool'),
      datahub: env.DATAHUB_GMS_URL
        ? { gmsUrl: env.DATAHUB_GMS_URL, token: env.DATAHUB_GMS_TOKEN || undefined }
        : undefined,
      airflowUrl: env.MESH_AIRFLOW_URL ? env.MESH_AIRFLOW_URL.replace(/\/+$/, '') : undefined,
    },
    online: env.REDIS_URL
      ? {
          kind: 'redis',
          url: env.REDIS_URL,
          cluster: bool(env, 'MESH_REDIS_CLUSTER', false),
          keyPrefix: env.MESH_REDIS_KEY_PREFIX ?? 'mesh:features:',
          commandTimeoutMs: positiveNumber(env, 'MESH_REDIS_TIMEOUT_MS', 1_000),
        }
      : { kind: 'sqlite', file: path.resolve(env.MESH_ONLINE_SQLITE || path.join(dataDir, 'online.sqlite')) },
  };
}

/** Shortest production secret: 32 characters (256 bits of hex, 192 of base64). */
const MIN_SECRET_LENGTH = 32;
/** Fewest distinct characters: a long secret made of few (`aaaa…`, `abab…`) is guessable whatever its length. */
const MIN_SECRET_SYMBOLS = 12;

/** A secret production will accept: not a development value, no edge whitespace, long and varied; never echoed. */
function productionSecret(name: string, value: string): void {
  const refuse = (why: string) => {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `MESH_ENV=production refuses ${name}: ${why}`);
  };
  const dev = [DEV_MASKING_KEY, DEV_JWT_SECRET, DEV_INTERNAL_SECRET];
  if (dev.some((d) => value.trim().toLowerCase().includes(d)) || /do-not-use-in-production/i.test(value))
    refuse('it is a development secret; set a value of your own');
  if (value !== value.trim()) refuse('it begins or ends with whitespace (a copy-paste slip?)');
  if (value.length < MIN_SECRET_LENGTH) refuse(`it has ${value.length} characters, fewer than ${MIN_SECRET_LENGTH}`);
  if (new Set(value).size < MIN_SECRET_SYMBOLS)
    refuse(`it uses fewer than ${MIN_SECRET_SYMBOLS} distinct characters (generate one: openssl rand -base64 32)`);
}

function instant(env: Env, name: string): Date | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be an ISO-8601 time, got "${value}"`);
  return d;
}

function positiveNumber(env: Env, name: string, fallback: number): number {
  const n = Number(env[name] || fallback);
  if (!(n > 0)) throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be a positive number, got "${env[name]}"`);
  return n;
}

function nonNegativeNumber(env: Env, name: string, fallback: number): number {
  const value = env[name];
  const n = value === undefined || value === '' ? fallback : Number(value);
  if (!(Number.isFinite(n) && n >= 0))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be a number, 0 or more, got "${value}"`);
  return n;
}

function nonNegativeInteger(env: Env, name: string, fallback: number): number {
  const value = env[name];
  const n = value === undefined || value === '' ? fallback : Number(value);
  if (!(Number.isInteger(n) && n >= 0))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be a whole number, 0 or more, got "${value}"`);
  return n;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const n = nonNegativeInteger(env, name, fallback);
  if (n === 0) throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be a whole number, 1 or more, got "0"`);
  return n;
}

function portNumber(env: Env, name: string, fallback: number): number {
  const port = Number(env[name] || fallback);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be a port number, got "${env[name]}"`);
  return port;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new MeshError(ErrorCode.CONFIG_INVALID, `${name} must be true or false, got "${value}"`);
}
