import { createHash } from 'node:crypto';
import { ErrorCode, MeshError } from '../errors.js';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../config.js';
import {
  BucketRoutedStore,
  MIGRATED_MARKER_KEY,
  PLATFORM_BUCKET_OWNER,
  PLATFORM_SEGMENT,
  bucketOf,
} from './buckets.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './types.js';

export interface MigrationReport {
  objects: number;
  copied: number;
  /** Already in place from an earlier, interrupted run: same size and ETag. */
  skipped: number;
  bytes: number;
  buckets: string[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Copies every object of the one bucket into its owner's bucket, verifies every copy, and only then writes the marker
 * that switches the mesh over (`untilMigrated`). Rerunnable: a copy already in place is kept. Objects of no known
 * owner stop it before anything is copied.
 */
export async function migrateToBuckets(
  single: ObjectStore,
  routed: BucketRoutedStore,
  owners: string[],
  ensureBucket: (owner: string) => Promise<string>,
): Promise<MigrationReport> {
  const objects = (await single.list('')).filter((o) => o.key !== MIGRATED_MARKER_KEY);
  const segments = new Set([...owners, PLATFORM_SEGMENT]);
  const stray = objects.filter((o) => !segments.has(o.key.split('/')[0]!));
  if (stray.length)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `${stray.length} object(s) belong to no domain (${stray
        .slice(0, 3)
        .map((o) => o.key)
        .join(', ')}${stray.length > 3 ? ', …' : ''}): move or delete them first; nothing was copied`,
    );
  const buckets = await Promise.all(
    [...segments]
      .filter((s) => objects.some((o) => o.key.startsWith(`${s}/`)))
      .map((s) => ensureBucket(s === PLATFORM_SEGMENT ? PLATFORM_BUCKET_OWNER : s)),
  );
  const report: MigrationReport = { objects: objects.length, copied: 0, skipped: 0, bytes: 0, buckets };
  const digests = new Map<string, string>();
  for (const o of objects) {
    const there = await routed.head(o.key);
    if (there && there.size === o.size && there.etag === o.etag) {
      report.skipped++;
      continue;
    }
    const body = await single.get(o.key);
    digests.set(o.key, sha256(body));
    await routed.put(o.key, body, { tags: await single.getTags(o.key) });
    report.copied++;
    report.bytes += body.length;
  }
  // Every object read back from its new bucket before the switch: a copy that differs stops the migration.
  for (const o of objects) {
    const copy = await routed.tryGet(o.key);
    const expected = digests.get(o.key) ?? sha256(await single.get(o.key));
    if (!copy || sha256(copy) !== expected)
      throw new MeshError(
        ErrorCode.STORE_ERROR,
        `the copy of "${o.key}" ${copy ? 'differs from' : 'is missing in'} its bucket: not switched over; rerun`,
      );
  }
  await single.put(MIGRATED_MARKER_KEY, `${JSON.stringify({ at: new Date().toISOString(), ...report }, null, 2)}\n`, {
    contentType: 'application/json',
  });
  return report;
}

/** `migrateToBuckets` for an S3 store configured with both its one bucket and the buckets per domain. */
export async function migrateStoreToBuckets(
  config: StoreConfig,
  owners: string[],
  client?: Partial<S3ClientConfig>,
): Promise<MigrationReport> {
  if (config.kind !== 's3' || !config.bucket || !config.buckets)
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      'migrating to a bucket per domain needs MESH_STORE=s3 with both MESH_S3_BUCKET (from) and ' +
        'MESH_S3_BUCKET_TEMPLATE (to)',
    );
  const { bucket, buckets, profileTemplate: _, ...s3 } = config;
  const stores = new Map<string, S3ObjectStore>();
  const open = (name: string) => {
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new S3ObjectStore({ ...s3, bucket: name, client })));
    return store;
  };
  const routed = new BucketRoutedStore(buckets, open, () => owners);
  return migrateToBuckets(open(bucket), routed, owners, async (owner) => {
    const name = bucketOf(buckets, owner);
    await open(name).ensureBucket();
    return name;
  });
}
