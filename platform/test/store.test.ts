import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// s3rver has no type declarations.
// @ts-expect-error untyped module
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { LocalObjectStore, S3ObjectStore, type ObjectStore } from '../store/index.js';
import { isMeshError } from '../errors.js';
import { freePort, tempDir } from '../../test/helpers.js';

const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The same contract tests run against every object store implementation. */
function storeContract(name: string, make: () => ObjectStore) {
  describe(`ObjectStore contract: ${name}`, () => {
    it('puts, gets, heads and lists objects with their sizes, sorted by key', async () => {
      const store = make();
      await store.put('sales/raw/b.json', '{"b":2}\n');
      await store.put('sales/raw/a.json', '{"a":1}\n');
      await store.put('sales/curated/x/data.parquet', new Uint8Array([1, 2, 3]));
      expect((await store.get('sales/raw/a.json')).toString()).toBe('{"a":1}\n');
      expect((await store.head('sales/curated/x/data.parquet'))?.size).toBe(3);
      expect((await store.list('sales/raw/')).map((o) => o.key)).toEqual(['sales/raw/a.json', 'sales/raw/b.json']);
      expect((await store.list('sales/')).map((o) => o.key)).toEqual(['sales/curated/x/data.parquet', 'sales/raw/a.json', 'sales/raw/b.json']);
      expect(await store.list('nothing/')).toEqual([]);
    });

    it('reports absence instead of inventing data, with a NOT_FOUND code on get', async () => {
      const store = make();
      expect(await store.tryGet('sales/raw/missing.json')).toBeUndefined();
      expect(await store.head('sales/raw/missing.json')).toBeUndefined();
      await expect(store.get('sales/raw/missing.json')).rejects.toSatisfy((e: unknown) => isMeshError(e, 'NOT_FOUND'));
    });

    it('keeps cost-allocation tags with every object', async () => {
      const store = make();
      const tags = { domain: 'payments', 'data-product': 'payments', layer: 'curated' };
      await store.put('payments/curated/payments/data.parquet', 'x', { tags });
      expect(await store.getTags('payments/curated/payments/data.parquet')).toEqual(tags);
    });

    it('publishes a local file and overwrites atomically', async () => {
      const store = make();
      const dir = tempDir();
      const file = path.join(dir, 'part.bin');
      fs.writeFileSync(file, 'first');
      await store.putFile('catalog/curated/products/data.parquet', file, { tags: { domain: 'catalog', layer: 'curated' } });
      expect(fs.existsSync(file)).toBe(false);
      await store.put('catalog/curated/products/data.parquet', 'second');
      const local = await store.localPath('catalog/curated/products/data.parquet');
      expect(fs.readFileSync(local, 'utf8')).toBe('second');
    });

    it('round-trips a large binary file byte for byte', async () => {
      const store = make();
      const file = path.join(tempDir(), 'blob.bin');
      const bytes = randomBytes(300_000);
      fs.writeFileSync(file, bytes);
      await store.putFile('sales/curated/big/data.parquet', file);
      expect(Buffer.compare(await store.get('sales/curated/big/data.parquet'), bytes)).toBe(0);
      expect(Buffer.compare(fs.readFileSync(await store.localPath('sales/curated/big/data.parquet')), bytes)).toBe(0);
    });

    it('deletes', async () => {
      const store = make();
      await store.put('campaigns/raw/t.json', '1');
      await store.delete('campaigns/raw/t.json');
      expect(await store.head('campaigns/raw/t.json')).toBeUndefined();
    });

    it('rejects keys that escape the store', async () => {
      const store = make();
      await expect(store.put('../etc/passwd', 'x')).rejects.toThrow(/invalid object key/);
      await expect(store.put('/abs', 'x')).rejects.toThrow(/invalid object key/);
    });
  });
}

storeContract('local filesystem', () => new LocalObjectStore(tempDir()));

describe('S3 through @aws-sdk/client-s3 against s3rver', () => {
  let server: { run(): Promise<unknown>; close(): Promise<void> };
  let endpoint = '';
  const bucket = 'mesh-test';
  beforeAll(async () => {
    const port = await freePort();
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: tempDir('s3rver-') });
    await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: S3_CREDENTIALS });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => server?.close());

  let n = 0;
  storeContract('s3', () => new S3ObjectStore({ bucket, prefix: `run${++n}`, region: 'us-east-1', endpoint, forcePathStyle: true, cacheDir: tempDir('s3cache-'), client: { credentials: S3_CREDENTIALS } }));

  it('caches downloads by ETag and refetches a changed object', async () => {
    const store = new S3ObjectStore({ bucket, prefix: 'cache', region: 'us-east-1', endpoint, forcePathStyle: true, cacheDir: tempDir('s3cache-'), client: { credentials: S3_CREDENTIALS } });
    await store.put('sales/raw/x.json', 'one');
    const p1 = await store.localPath('sales/raw/x.json');
    expect(fs.readFileSync(p1, 'utf8')).toBe('one');
    await store.put('sales/raw/x.json', 'two!');
    expect(fs.readFileSync(await store.localPath('sales/raw/x.json'), 'utf8')).toBe('two!');
  });
});
