import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// s3rver has no type declarations.
// @ts-expect-error untyped module
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createObjectStore, LocalObjectStore, S3ObjectStore, type ObjectStore } from '../store/index.js';
import { isMeshError } from '../errors.js';
import { REPO_ROOT } from '../config.js';
import { freePort, tempDir } from './helpers.js';

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
      expect((await store.list('sales/')).map((o) => o.key)).toEqual([
        'sales/curated/x/data.parquet',
        'sales/raw/a.json',
        'sales/raw/b.json',
      ]);
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
      await store.putFile('catalog/curated/products/data.parquet', file, {
        tags: { domain: 'catalog', layer: 'curated' },
      });
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
    for (const owner of ['sales', 'campaigns', 'catalog', 'payments', 'nothing'])
      await client.send(new CreateBucketCommand({ Bucket: `routed-${owner}` }));
  });
  afterAll(async () => server?.close());

  let n = 0;
  storeContract(
    's3',
    () =>
      new S3ObjectStore({
        bucket,
        prefix: `run${++n}`,
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        cacheDir: tempDir('s3cache-'),
        client: { credentials: S3_CREDENTIALS },
      }),
  );

  // The same key space over a bucket per domain: `sales/raw/a.json` is `raw/a.json` in routed-sales.
  storeContract('s3, a bucket per domain', () =>
    createObjectStore(
      {
        kind: 's3',
        buckets: { template: 'routed-{domain}', overrides: {} },
        prefix: `run${++n}`,
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        cacheDir: tempDir('s3cache-'),
      },
      { owners: () => ['sales', 'campaigns', 'catalog', 'payments'], client: { credentials: S3_CREDENTIALS } },
    ),
  );

  const s3 = (
    o: {
      endpoint?: string;
      bucket?: string;
      prefix?: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
    } = {},
  ) =>
    new S3ObjectStore({
      bucket: o.bucket ?? bucket,
      prefix: o.prefix ?? `f${++n}`,
      region: 'us-east-1',
      endpoint: o.endpoint ?? endpoint,
      forcePathStyle: true,
      cacheDir: tempDir('s3cache-'),
      client: { credentials: o.credentials ?? S3_CREDENTIALS },
    });

  /** A proxy in front of s3rver: `fault` answers a request with an S3 error status, or lets it through (undefined). */
  async function proxy(fault: (req: http.IncomingMessage) => number | undefined | Promise<number | undefined>) {
    const target = new URL(endpoint);
    const server = http.createServer(async (req, res) => {
      const status = await fault(req);
      if (status) {
        req.resume();
        const code = status === 503 ? 'SlowDown' : status === 404 ? 'NoSuchKey' : 'InternalError';
        res
          .writeHead(status, { 'content-type': 'application/xml' })
          .end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }

  it('lists more than 1,000 keys, across pages', async () => {
    // s3rver makes continuation tokens with a cipher OpenSSL 3 only offers behind --openssl-legacy-provider: this one
    // runs in its own process, as a real endpoint would.
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--openssl-legacy-provider',
        '-e',
        `const S3rver = require('s3rver'); new S3rver({ port: ${port}, address: '127.0.0.1', silent: true, ` +
          `directory: ${JSON.stringify(tempDir('s3rver-'))} }).run().then(() => console.log('up'))`,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
      });
      const url = `http://127.0.0.1:${port}`;
      await new S3Client({
        region: 'us-east-1',
        endpoint: url,
        forcePathStyle: true,
        credentials: S3_CREDENTIALS,
      }).send(new CreateBucketCommand({ Bucket: 'mesh-many' }));
      const store = s3({ endpoint: url, bucket: 'mesh-many' });
      const keys = Array.from({ length: 1005 }, (_, i) => `sales/raw/many/${String(i).padStart(5, '0')}.json`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, '{}')));
      expect((await store.list('sales/raw/many/')).map((o) => o.key)).toEqual(keys);
    } finally {
      child.kill();
    }
  });

  it('tags an object the server does not show yet, once it does; not forever', async () => {
    // The first tagging requests after a PUT answer NoSuchKey, as s3rver under load did in CI.
    let hidden = 2;
    const lagging = await proxy((req) => (req.url!.includes('tagging') && hidden-- > 0 ? 404 : undefined));
    try {
      const store = s3({ endpoint: lagging.url, prefix: 'lagging' });
      await store.put('sales/raw/t.json', '{}', { tags: { layer: 'raw' } });
      expect(hidden).toBe(-1);
      expect(await store.get('sales/raw/t.json').then(String)).toBe('{}');
      hidden = 10;
      const err = await store.put('sales/raw/u.json', '{}', { tags: { layer: 'raw' } }).catch((e: unknown) => e);
      expect(isMeshError(err, 'STORE_ERROR'), String(err)).toBe(true);
      expect(hidden).toBe(6);
    } finally {
      await lagging.close();
    }
  });

  it('a passing 5xx is retried and succeeds; a lasting one is STORE_ERROR naming status and attempts', async () => {
    const writer = s3({ prefix: 'retry' });
    await writer.put('sales/raw/r.json', 'payload');
    const seen = new Map<string, number>();
    const flaky = await proxy((req) => {
      const n = (seen.get(req.url!) ?? 0) + 1;
      seen.set(req.url!, n);
      if (req.url!.includes('/r.json') && n === 1) return 503;
      if (req.url!.includes('/broken.json')) return 500;
      return undefined;
    });
    try {
      const store = s3({ endpoint: flaky.url, prefix: 'retry' });
      expect((await store.get('sales/raw/r.json')).toString()).toBe('payload');
      expect([...seen].find(([u]) => u.includes('/r.json'))![1]).toBe(2);
      const err = await store.get('sales/raw/broken.json').catch((e: unknown) => e);
      expect(isMeshError(err, 'STORE_ERROR')).toBe(true);
      expect((err as Error).message).toMatch(/InternalError, HTTP 500, after 3 attempts/);
    } finally {
      await flaky.close();
    }
  });

  it('names wrong credentials and a missing bucket', async () => {
    const wrongKey = await s3({ credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } })
      .put('sales/raw/x.json', '1')
      .catch((e: unknown) => e);
    expect(isMeshError(wrongKey, 'STORE_ERROR')).toBe(true);
    expect((wrongKey as Error).message).toMatch(
      /access key is unknown to the server \(AWS_ACCESS_KEY_ID\) \(InvalidAccessKeyId, HTTP 403\)/,
    );
    const noBucket = await s3({ bucket: 'no-such-bucket' })
      .list('sales/')
      .catch((e: unknown) => e);
    expect((noBucket as Error).message).toMatch(
      /"sales\/" in bucket "no-such-bucket" failed: the bucket does not exist \(MESH_S3_BUCKET.*NoSuchBucket, HTTP 404/,
    );
  });

  it('records the ETag of the bytes it downloaded when the object changes between head and download', async () => {
    const direct = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: S3_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const writer = s3({ prefix: 'race' });
    await writer.put('sales/raw/race.json', 'old bytes');
    let swapped = false;
    const racing = await proxy(async (req) => {
      // Right after the head, another writer replaces the object.
      if (req.method === 'GET' && req.url!.includes('/race.json') && !swapped) {
        swapped = true;
        await direct.send(
          new PutObjectCommand({ Bucket: bucket, Key: 'race/sales/raw/race.json', Body: 'new bytes!' }),
        );
      }
      return undefined;
    });
    try {
      const file = await s3({ endpoint: racing.url, prefix: 'race' }).localPath('sales/raw/race.json');
      expect(fs.readFileSync(file, 'utf8')).toBe('new bytes!');
      expect(fs.readFileSync(`${file}.etag`, 'utf8')).toBe(createHash('md5').update('new bytes!').digest('hex'));
    } finally {
      await racing.close();
    }
  });

  it('caches downloads by ETag and refetches a changed object', async () => {
    const store = new S3ObjectStore({
      bucket,
      prefix: 'cache',
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      cacheDir: tempDir('s3cache-'),
      client: { credentials: S3_CREDENTIALS },
    });
    await store.put('sales/raw/x.json', 'one');
    const p1 = await store.localPath('sales/raw/x.json');
    expect(fs.readFileSync(p1, 'utf8')).toBe('one');
    await store.put('sales/raw/x.json', 'two!');
    expect(fs.readFileSync(await store.localPath('sales/raw/x.json'), 'utf8')).toBe('two!');
  });
});
