/**
 * Every object store key of the mesh, in one place. Keys are `/`-separated and relative to the store root; what each
 * holds and who writes it is the README's "Object store layout" table.
 */

/** A domain's raw sources, as the source systems deliver them. */
export const rawPrefix = (domain: string) => `${domain}/raw/`;
/** The generator's (or an extract's) as-of time of a domain's raw data. */
export const extractManifestKey = (domain: string) => `${rawPrefix(domain)}_extract.json`;

/**
 * Content-addressed Parquet of a curated dataset (masked), its restricted copy (PII in clear), and quarantined records.
 */
export const curatedPrefix = (domain: string, dataset: string) => `${domain}/curated/${dataset}`;
export const restrictedPrefix = (domain: string, dataset: string) => `${domain}/restricted/${dataset}`;
export const quarantinePrefix = (domain: string, source: string) => `${domain}/quarantine/${source}`;
/** The staged layer: a source's accepted, typed records per run (PII in clear, like raw), and the ingest state. */
export const stagedPrefix = (domain: string, source: string) => `${domain}/staged/${source}`;
export const ingestStatePrefix = (domain: string) => `${domain}/staged/_state`;
/** The commit point of a domain's curated data: readers only ever follow this manifest. */
export const curatedManifestKey = (domain: string) => `${domain}/curated/_manifest.json`;

/** Pipeline run records, one object per run. */
export const runsPrefix = (domain: string) => `_platform/runs/${domain}/`;
export const runKey = (domain: string, runId: string) => `${runsPrefix(domain)}${runId}.json`;
/** Batch jobs' last-run metrics, exposed by the gateway. */
export const JOB_METRICS_PREFIX = '_platform/metrics/jobs/';

/** Where a pause flag was kept before the control plane held it: read once, and moved there. */
export const LEGACY_PAUSED_KEY = (domain: string) => `_platform/schedule/${domain}/paused.json`;
/** The live simulation (npm start): its options and how far its sources have delivered, to resume by replay. */
export const SIMULATION_STATE_KEY = '_platform/simulation/live.json';
export const jobMetricsKey = (job: string) => `${JOB_METRICS_PREFIX}${encodeURIComponent(job)}.json`;

/** Feature views: `table` is `<view>@v<N>`. */
export const offlineFeaturesPrefix = (domain: string, table: string) => `${domain}/features/${table}`;
export const offlineFeaturesManifestKey = (domain: string, table: string) =>
  `${offlineFeaturesPrefix(domain, table)}/_manifest.json`;
export const featureQuarantinePrefix = (domain: string, table: string) => `${domain}/quarantine/features/${table}`;
export const FEATURE_REGISTRY_KEY = '_platform/features/registry.json';
/** Every registry the control plane's head has pointed at, content-addressed; the key above is a copy of the head. */
export const featureRegistryObjectKey = (sha: string) => `_platform/features/registry/${sha}.json`;

/** Trained models: every version, and a pointer to the current one. */
export const modelKey = (name: string, version: number) => `_platform/models/${name}/v${version}.json`;
export const currentModelKey = (name: string) => `_platform/models/${name}/_current.json`;

/**
 * The schema registry's artifacts, content-addressed (its heads are records of the control plane): each published
 * SDL with its contract, each composed supergraph, recorded checks, and a copy of the current supergraph for gateways
 * that follow the store. `schemaVersionKey` and `schemaIndexKey` are where registries before the control plane kept
 * versions and heads; they are still read.
 */
export const schemaPrefix = (subgraph: string) => `_platform/schemas/${subgraph}/`;
export const schemaObjectKey = (subgraph: string, sha: string) => `${schemaPrefix(subgraph)}objects/${sha}.json`;
export const supergraphObjectKey = (sha: string) => `_platform/schemas/_supergraphs/${sha}.graphql`;
export const schemaVersionKey = (subgraph: string, seq: number) => `${schemaPrefix(subgraph)}${seq}.json`;
export const schemaIndexKey = (subgraph: string) => `${schemaPrefix(subgraph)}_index.json`;
export const schemaChecksPrefix = (subgraph: string) => `${schemaPrefix(subgraph)}checks/`;
export const PUBLISHED_SUPERGRAPH_KEY = '_platform/schemas/supergraph.graphql';

/** Operations the gateway served, `<day>/<recorder>-<n>.json`: an object store cannot append. */
export const USAGE_PREFIX = '_platform/usage/';
export const usageKey = (day: string, recorder: string, seq: number) =>
  `${USAGE_PREFIX}${day}/${recorder}-${String(seq).padStart(6, '0')}.json`;

/**
 * The layers inside each domain's bucket (and key space), raw to served features: the prefixes IAM policies grant on.
 */
export const STORE_LAYERS = ['raw', 'staged', 'curated', 'restricted', 'quarantine', 'features'] as const;
export type StoreLayer = (typeof STORE_LAYERS)[number];

/** The first segment of a key: a domain, or `_platform` for the platform's own objects (each a bucket of its own). */
export { PLATFORM_SEGMENT } from '../platform/index.js';
