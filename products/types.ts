
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
}

export interface DatasetOutput extends PublishedFile {
  name: string;
  columns: { name: string; type: string; pii: boolean }[];
  /** The owning domain's restricted copy: key columns and PII in clear. */
  restricted?: PublishedFile & { columns: string[] };
}

export interface RunRecord {
  runId: string;
  domain: string;
  dataProduct: string;
  contractVersion: string;
  domainVersion: string;
  status: 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  asOf: string;
  inputFingerprint: string;
  accounting: SourceAccounting[];
  datasets: DatasetOutput[];
  quarantine: (PublishedFile & { source: string })[];
  quality: QualityResult[];
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
}

/** One quality rule's outcome on one dataset, as stored with the run (the governance quality engine produces it). */
export interface QualityResult {
  dataset: string;
  column?: string;
  rule: string;
  /** Where the rule comes from: implicit (required/unique/primary key), ODCS library or sql, Great Expectations, or mesh. */
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
