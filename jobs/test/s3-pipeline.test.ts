import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error s3rver has no type declarations
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand, GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { Platform } from '../../platform/index.js';
import { loadConfig } from '../../platform/config.js';
import { createObjectStore } from '../../platform/store/index.js';
import { selectDomains } from '../../platform/domains.js';
import { Duck, readParquet } from '../../platform/duckdb.js';
import { generateMarketplace } from '../generate/index.js';
import { curatedDatasetPaths, currentManifest } from '../../products/readers.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { SMALL } from './helpers.js';
import { freePort, recordingPlatform, tempDir } from '../../platform/test/helpers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let server: { run(): Promise<unknown>; close(): Promise<void> };
let client: S3Client;
let platform: Platform;

beforeAll(async () => {
  const port = await freePort();
  server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: tempDir('s3rver-') });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  await client.send(new CreateBucketCommand({ Bucket: 'lake' }));
  const config = loadConfig({
    MESH_DATA_DIR: tempDir(),
    MESH_STORE: 's3',
    MESH_S3_BUCKET: 'lake',
    MESH_S3_PREFIX: 'mesh',
    MESH_S3_ENDPOINT: endpoint,
    MESH_LOG_LEVEL: 'silent',
  });
  expect(config.store).toMatchObject({ kind: 's3', forcePathStyle: true, prefix: 'mesh' });
  if (config.store.kind !== 's3') throw new Error('expected the S3 store');
  platform = recordingPlatform(config, createObjectStore(config.store, { client: { credentials } }));
});
afterAll(async () => server?.close());

describe('pipelines on S3', () => {
  it('generate, run and publish through the SDK, with cost tags as S3 object tags', async () => {
    await generateMarketplace(platform.store, { ...SMALL, scale: 0.1 });
    for (const d of selectDomains(platform.config.domainsDir, ['payments', 'sales'])) {
      const r = await runDomainPipeline(platform, d);
      expect(r.status).toBe('succeeded');
    }
    const m = await currentManifest(platform, 'payments');
    const tags = await client.send(
      new GetObjectTaggingCommand({ Bucket: 'lake', Key: `mesh/${m!.datasets.payments!.files[0]!.key}` }),
    );
    expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      domain: 'payments',
      'data-product': 'payments',
      layer: 'curated',
    });
    const raw = (await platform.store.list('sales/raw/returns/'))[0]!;
    const rawTags = await client.send(new GetObjectTaggingCommand({ Bucket: 'lake', Key: `mesh/${raw.key}` }));
    expect(Object.fromEntries((rawTags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      domain: 'sales',
      'data-product': 'returns',
      layer: 'raw',
    });

    const duck = await Duck.open();
    try {
      const { n } = await duck.one<{ n: number }>(
        `SELECT count(*) AS n FROM ${readParquet(await curatedDatasetPaths(platform, 'sales', 'orders'))}`,
      );
      expect(Number(n)).toBe(m && (await currentManifest(platform, 'sales'))!.datasets.orders!.rows);
    } finally {
      duck.close();
    }
  });
});
