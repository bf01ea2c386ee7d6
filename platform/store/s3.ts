import fs from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  PutObjectTaggingCommand,
  GetObjectTaggingCommand,
  NoSuchKey,
  NotFound,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { MeshError, ErrorCode } from '../errors.js';
import type { StoreConfig } from '../config.js';
import { assertValidKey, type ObjectInfo, type ObjectStore, type ObjectTags, type PutOptions } from './types.js';

export type S3ObjectStoreOptions = Omit<
  Extract<StoreConfig, { kind: 's3' }>,
  'kind' | 'bucket' | 'buckets' | 'profileTemplate'
> & {
  bucket: string;
  /** Extra client settings (credentials in tests); production uses the SDK's default credential chain. */
  client?: Partial<S3ClientConfig>;
};

/**
 * S3 through the AWS SDK. Tags are set with PutObjectTagging after the put: some S3-compatible servers
 * ignore the Tagging parameter of PutObject, and the separate call works on AWS S3 too.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly url: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.url = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      // S3-compatible servers often store the SDK's default aws-chunked checksum framing as object bytes.
      ...(options.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
      ...options.client,
    });
  }

  async put(key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    await this.send(key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.fullKey(key),
          Body: body,
          ContentType: options.contentType,
        }),
      ),
    );
    if (options.tags) await this.putTags(key, options.tags);
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    const { size } = await fs.stat(localPath);
    await this.send(key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.fullKey(key),
          Body: createReadStream(localPath),
          ContentLength: size,
          ContentType: options.contentType,
        }),
      ),
    );
    if (options.tags) await this.putTags(key, options.tags);
    await fs.rm(localPath, { force: true });
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.tryGet(key);
    if (body === undefined)
      throw new MeshError(ErrorCode.NOT_FOUND, `object not found: ${key}`, { key, store: this.url });
    return body;
  }

  async tryGet(key: string): Promise<Buffer | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storeError(this.options.bucket, key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }),
      );
      return {
        key,
        size: res.ContentLength ?? 0,
        etag: stripQuotes(res.ETag),
        lastModified: res.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storeError(this.options.bucket, key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    const base = this.options.prefix ? `${this.options.prefix}/` : '';
    do {
      const res = await this.send(prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: base + prefix.replace(/^\/+/, ''),
            ContinuationToken: token,
          }),
        ),
      );
      for (const obj of res.Contents ?? []) {
        if (!obj.Key) continue;
        out.push({
          key: obj.Key.slice(base.length),
          size: obj.Size ?? 0,
          etag: stripQuotes(obj.ETag),
          lastModified: obj.LastModified ?? new Date(0),
        });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.send(key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) })),
    );
  }

  async getTags(key: string): Promise<ObjectTags> {
    assertValidKey(key);
    const res = await this.send(key, () =>
      this.client.send(new GetObjectTaggingCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) })),
    );
    return Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async localPath(key: string): Promise<string> {
    const meta = await this.head(key);
    if (!meta) throw new MeshError(ErrorCode.NOT_FOUND, `object not found: ${key}`, { key, store: this.url });
    const target = path.join(this.options.cacheDir, this.options.bucket, ...this.fullKey(key).split('/'));
    const etagFile = `${target}.etag`;
    const cached = await fs.readFile(etagFile, 'utf8').catch(() => undefined);
    if (cached === meta.etag) return target;
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.part`;
    const res = await this.send(key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) })),
    );
    try {
      await pipeline(res.Body as Readable, createWriteStream(tmp));
      await fs.rename(tmp, target);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    // The ETag of the bytes downloaded, not of the head before: the object may have been replaced in between.
    await fs.writeFile(etagFile, stripQuotes(res.ETag) || meta.etag);
    return target;
  }

  private async putTags(key: string, tags: ObjectTags): Promise<void> {
    const TagSet = Object.entries(tags)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([Key, Value]) => ({ Key, Value }));
    const tag = () =>
      this.client.send(
        new PutObjectTaggingCommand({ Bucket: this.options.bucket, Key: this.fullKey(key), Tagging: { TagSet } }),
      );
    // An S3-compatible server may not show an object it has just acknowledged (s3rver under load does): the tags of
    // an object this process wrote a moment ago are tried again, briefly, before the write counts as failed.
    await this.send(key, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await tag();
        } catch (err) {
          if (!isMissing(err) || attempt >= 3) throw err;
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
    });
  }

  private fullKey(key: string): string {
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  /** Creates the bucket if it is missing (a migration's first step; Terraform's job in production). */
  async ensureBucket(): Promise<void> {
    const Bucket = this.options.bucket;
    const found = await this.client.send(new HeadBucketCommand({ Bucket })).then(
      () => true,
      (err: unknown) => {
        if (isMissing(err) || (err as { name?: string }).name === 'NoSuchBucket') return false;
        throw storeError(Bucket, '', err);
      },
    );
    if (!found) await this.send('', () => this.client.send(new CreateBucketCommand({ Bucket })));
  }

  private async send<T>(key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw storeError(this.options.bucket, key, err);
    }
  }
}

function isMissing(err: unknown): boolean {
  return (
    err instanceof NoSuchKey ||
    err instanceof NotFound ||
    (err as { name?: string })?.name === 'NotFound' ||
    (err as { name?: string })?.name === 'NoSuchKey'
  );
}

/**
 * What an S3 error means for whoever runs the mesh, by its S3 error code; the SDK has already retried what it could.
 */
const MEANINGS: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist (MESH_S3_BUCKET, or MESH_S3_BUCKET_TEMPLATE and MESH_S3_BUCKETS)',
  AccessDenied: 'access denied: the credentials may not do this on the bucket',
  InvalidAccessKeyId: 'the access key is unknown to the server (AWS_ACCESS_KEY_ID)',
  SignatureDoesNotMatch: 'the secret key does not match the access key (AWS_SECRET_ACCESS_KEY)',
  SlowDown: 'the server is throttling requests',
};

function storeError(bucket: string, key: string, err: unknown): MeshError {
  if (err instanceof MeshError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  const s3Code = e.name && e.name !== 'Error' ? e.name : undefined;
  const meaning =
    (s3Code && Object.hasOwn(MEANINGS, s3Code) ? MEANINGS[s3Code] : undefined) ?? e.message ?? String(err);
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const details = [
    ...(status ? [`HTTP ${status}`] : []),
    ...(attempts && attempts > 1 ? [`after ${attempts} attempts`] : []),
  ];
  const code = s3Code ? ` (${[s3Code, ...details].join(', ')})` : '';
  return new MeshError(
    ErrorCode.STORE_ERROR,
    `S3 request for "${key}" in bucket "${bucket}" failed: ${meaning}${code}`,
    { bucket, key, s3Code, status, attempts },
    { cause: err },
  );
}

function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
