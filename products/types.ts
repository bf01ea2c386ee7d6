/** Per source, every record is accounted for: in = curated + quarantined + duplicates. */
export interface SourceAccounting {
  source: string;
  files: number;
  in: number;
  curated: number;
  quarantined: number;
  duplicates: number;
  /** Of the quarantined: lines that did not parse at all. */
  malformed: number;
  /** Records whose event time is over a day older than the newest event already received. */
  lateArrivals: number;
}

export interface PublishedFile {
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** A hash of its rows, whatever their order (`rowsDigest`); datasets' files have it. */
  digest?: string;
}

/** One Parquet file of a dataset: the whole of it, or one partition. */
export interface DatasetFile extends PublishedFile {
  /** The partition's value (`partitionBy` evaluated on its rows); absent when the dataset is not partitioned. */
  partition?: string;
}

export interface DatasetOutput {
  name: string;
  rows: number;
  bytes: number;
  /** The dataset's version: a hash of its files' hashes in partition order. Equal rows, equal hash. */
  sha256: string;
  /** The SQL expression over the dataset's columns that puts each row in its file, when the dataset is partitioned. */
  partitionBy?: string;
  files: DatasetFile[];
  columns: { name: string; type: string; pii: boolean }[];
  /** The owning domain's restricted copy, partitioned like the dataset: key columns and PII in clear. */
  restricted?: { columns: string[]; files: DatasetFile[] };
}

/**
 * What an incremental run continues from, per source: the raw objects already read and the accepted records they held.
 */
export interface SourceState {
  /** Every raw object read so far: key → `size:etag`. */
  files: Record<string, string>;
  /** Accepted, deduplicated, typed records of every run so far (the staged layer). */
  staged: PublishedFile[];
  /** Per stream (a file's folder, dates removed): the newest event time received, for counting late arrivals. */
  streams: Record<string, string>;
  /** Accounting summed over every run since the last full one. */
  totals: SourceAccounting;
  /** A stream source: the last stream sequence this version has read (its consumer's committed position). */
  position?: number;
}

/** Written (content-addressed) before the manifest that names it, so a run and its ledger commit together. */
export interface IngestState {
  domain: string;
  /** A hash of the pipeline definition (pipeline, SQL, contract, version) the state was built with. */
  definition: string;
  sources: Record<string, SourceState>;
}

/** A batch of a stream source's messages one run landed. */
export interface StreamBatch {
  source: string;
  first: number;
  last: number;
  messages: number;
  /** Sequences the stream held beyond this batch: what the consumer still lags by. */
  lag: number;
  /**
   * Seconds from each event's time (its publication, when later: a backfill) to the commit of the version holding it:
   * the freshness the SLO measures.
   */
  freshness?: { p50Seconds: number; p99Seconds: number };
}

export interface RunRecord {
  runId: string;
  domain: string;
  dataProduct: string;
  contractVersion: string;
  domainVersion: string;
  status: 'succeeded' | 'failed';
  /** Full: every raw object read again. Incremental: only objects no earlier run read. */
  mode: 'full' | 'incremental';
  /** Why a run was full: the first run, `--full`, a changed definition or a raw object rewritten in place. */
  modeReason?: string;
  /** An incremental run that found nothing new published nothing: the current version stays. */
  unchanged?: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  asOf: string;
  inputFingerprint: string;
  /** This run's records. */
  accounting: SourceAccounting[];
  /** Every record since the last full run, this run's included. */
  cumulative?: SourceAccounting[];
  datasets: DatasetOutput[];
  quarantine: (PublishedFile & { source: string })[];
  quality: QualityResult[];
  /** Stream sources: the batch of sequences this run landed from each stream. */
  streamBatches?: StreamBatch[];
  /**
   * The stream batches (raw objects) this run read first, per stream source: the ones it landed, and any a killed run
   * landed before it. Feature pushes read the entities from them.
   */
  streamed?: { source: string; keys: string[] }[];
  error?: { code: string; message: string };
}

/** The commit point of a domain's curated data: readers only ever follow this manifest. */
export interface CuratedManifest {
  domain: string;
  dataProduct: string;
  contractVersion: string;
  domainVersion: string;
  runId: string;
  publishedAt: string;
  asOf: string;
  inputFingerprint: string;
  datasets: Record<string, DatasetOutput>;
  /** The ingest state this version was built to: where the next incremental run continues. */
  state?: PublishedFile;
  /**
   * What the state holds, in brief (the state itself lists every raw object): the newest event time received, the raw
   * objects read.
   */
  ingest?: { newestEvent: string | null; rawFiles: number };
}

/** One quality rule's outcome on one dataset, as stored with the run (the governance quality engine produces it). */
export interface QualityResult {
  dataset: string;
  column?: string;
  rule: string;
  /**
   * Where the rule comes from: implicit (required/unique/primary key), ODCS library or sql, Great Expectations, or
   * mesh.
   */
  kind: 'implicit' | 'library' | 'sql' | 'great-expectations' | 'mesh';
  dimension?: string;
  severity: string;
  blocking: boolean;
  passed: boolean;
  observed: number | string | null;
  expected: string;
  elementCount?: number;
  unexpectedCount?: number;
  message: string;
}
