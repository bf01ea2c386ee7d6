import type { StoreConfig } from '../config.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import { BucketRoutedStore, untilMigrated } from './buckets.js';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { ObjectStore } from './types.js';

export * from './types.js';
export { LocalObjectStore } from './local.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3.js';
export { fenceWrites, wrapStore } from './writeFence.js';
export { migrateStoreToBuckets, migrateToBuckets, type MigrationReport } from './migrate.js';
export {
  BucketRoutedStore,
  MIGRATED_MARKER_KEY,
  PLATFORM_BUCKET_OWNER,
  PLATFORM_SEGMENT,
  bucketOf,
  splitKey,
  untilMigrated,
} from './buckets.js';

/**
 * The store `config` names. `owners` lists the domains, for listings that span a bucket per domain; `client` adds S3
 * client settings (credentials in tests).
 */
export function createObjectStore(
  config: StoreConfig,
  options: { owners?: () => string[]; client?: Partial<S3ClientConfig> } = {},
): ObjectStore {
  if (config.kind === 'local') return new LocalObjectStore(config.root);
  const { bucket, buckets, profileTemplate: _, ...s3 } = config;
  const one = (name: string) => new S3ObjectStore({ ...s3, bucket: name, client: options.client });
  if (!buckets) return one(bucket!);
  const routed = new BucketRoutedStore(buckets, one, options.owners ?? (() => []));
  return bucket ? untilMigrated(one(bucket), routed) : routed;
}

export async function getJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const body = await store.tryGet(key);
  return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as T);
}

export async function putJson(
  store: ObjectStore,
  key: string,
  value: unknown,
  tags?: Record<string, string>,
): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n', { tags, contentType: 'application/json' });
}
