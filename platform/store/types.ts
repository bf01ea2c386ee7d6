/** Cost-allocation tags every object written for a domain carries. */
export interface ObjectTags {
  domain?: string;
  'data-product'?: string;
  layer?: string;
  [name: string]: string | undefined;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface PutOptions {
  tags?: ObjectTags;
  contentType?: string;
}

/**
 * Keys are `/`-separated and relative to the store root: `<domain>/raw/...`, `<domain>/curated/<dataset>/...`,
 * `<domain>/quarantine/...`, `_platform/...`. Every put is atomic: a reader sees the old object or the new one.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** A URL naming the store root (file:///… or s3://bucket/prefix), for logs and lineage. */
  readonly url: string;
  put(key: string, body: string | Uint8Array, options?: PutOptions): Promise<void>;
  /** Publishes a finished local file under `key`; the file is consumed (moved or uploaded then removed). */
  putFile(key: string, localPath: string, options?: PutOptions): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Undefined when absent, instead of throwing NOT_FOUND. */
  tryGet(key: string): Promise<Buffer | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object below `prefix`, recursively, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  getTags(key: string): Promise<ObjectTags>;
  /** A path on local disk holding the object, for DuckDB to read (S3 objects are fetched into a cache by ETag). */
  localPath(key: string): Promise<string>;
}

export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/');
}

export function assertValidKey(key: string): void {
  if (
    key === '' ||
    key.startsWith('/') ||
    key.split('/').some((p) => p === '..' || p === '.' || p === '' || p.startsWith('.'))
  ) {
    throw new Error(
      `invalid object key "${key}": keys are relative, '/'-separated, with no empty, '.', '..' or dot-prefixed parts`,
    );
  }
}
