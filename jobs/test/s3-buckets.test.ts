import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error s3rver has no type declarations
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { loadConfig } from '../../platform/config.js';
import { createObjectStore, migrateStoreToBuckets, MIGRATED_MARKER_KEY } from '../../platform/store/index.js';
import { listDomains, selectDomains } from '../../platform/domains.js';
import { isMeshError, ErrorCode } from '../../platform/errors.js';
import { generateMarketplace } from '../generate/index.js';
import { currentManifest } from '../../products/readers.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { pipelineWritePrefixes } from '../../governance/iam.js';
import { SMALL } from './helpers.js';
import { freePort, recordingPlatform, tempDir } from '../../platform/test/helpers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const DOMAINS = listDomains(loadConfig().domainsDir).map((d) => d.name);
let server: { run(): Promise<unknown>; close(): Promise<void>; on(e: 'event', f: (e: S3Event) => void): void };
let client: S3Client;
let endpoint = '';
/** The server's own record of every object written or deleted: bucket and key. */
const written: { bucket: string; key: string }[] = [];

interface S3Event {
  Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string } } }[];
}

beforeAll(async () => {
  const port = await freePort();
  server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: tempDir('s3rver-') });
  server.on('event', (e) => {
    for (const r of e.Records) written.push({ bucket: r.s3.bucket.name, key: decodeURIComponent(r.s3.object.key) });
  });
  await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  // What the Terraform module of `mesh iam policies` creates.
  for (const owner of [...DOMAINS, 'platform']) await client.send(new CreateBucketCommand({ Bucket: `acme-${owner}` }));
});
afterAll(async () => server?.close());

const env = (extra: Record<string, string>) => ({
  MESH_DATA_DIR: tempDir(),
  MESH_STORE: 's3',
  MESH_S3_ENDPOINT: endpoint,
  MESH_LOG_LEVEL: 'silent',
  ...extra,
});

async function keysOf(bucket: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

describe('a bucket per domain', () => {
  it("runs every domain's pipeline writing only its own bucket and its records in the platform's", async () => {
    const config = loadConfig(env({ MESH_S3_BUCKET_TEMPLATE: 'acme-{domain}' }));
    const platform = recordingPlatform(
      config,
      createObjectStore(config.store, { owners: () => DOMAINS, client: { credentials } }),
    );
    await generateMarketplace(platform.store, { ...SMALL, scale: 0.1 });
    // Each source system delivered into its domain's bucket, under raw/.
    for (const d of DOMAINS) expect((await keysOf(`acme-${d}`)).every((k) => k.startsWith('raw/'))).toBe(true);
    for (const d of DOMAINS) {
      written.length = 0;
      const run = await runDomainPipeline(platform, selectDomains(config.domainsDir, [d])[0]!);
      expect(run.status).toBe('succeeded');
      const platformKeys = pipelineWritePrefixes(d)
        .filter((p) => p.startsWith('_platform/'))
        .map((p) => p.slice('_platform/'.length));
      const outside = written.filter(
        (w) =>
          !(w.bucket === `acme-${d}` && !w.key.startsWith('features/')) &&
          !(w.bucket === 'acme-platform' && platformKeys.some((p) => w.key.startsWith(p))),
      );
      expect(outside, d).toEqual([]);
      expect(written.filter((w) => w.bucket === `acme-${d}` && w.key.startsWith('curated/')).length).toBeGreaterThan(0);
    }
    // Readers see the same key space as on one bucket, and a listing spans every bucket.
    expect((await currentManifest(platform, 'sales'))?.datasets.orders?.rows).toBeGreaterThan(0);
    const owners = new Set((await platform.store.list('')).map((o) => o.key.split('/')[0]));
    expect([...owners].sort()).toEqual([...DOMAINS, '_platform'].sort());
  });

  it("runs each domain's pipeline under its own AWS profile: wrong credentials stop that domain only", async () => {
    const dir = tempDir();
    // The SDK reads profiles from these files; this test process's environment is its own (one fork per file).
    fs.writeFileSync(
      path.join(dir, 'credentials'),
      '[acme-sales-pipeline]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n\n' +
        '[acme-payments-pipeline]\naws_access_key_id = NOT-PAYMENTS\naws_secret_access_key = nope\n',
    );
    fs.writeFileSync(path.join(dir, 'config'), '');
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
    const config = loadConfig(
      env({ MESH_S3_BUCKET_TEMPLATE: 'acme-{domain}', MESH_S3_PROFILE_TEMPLATE: 'acme-{role}' }),
    );
    // The platform's own store (the generator's) has the server's credentials; each run opens its role's.
    const platform = recordingPlatform(
      config,
      createObjectStore(config.store, { owners: () => DOMAINS, client: { credentials } }),
    );
    await generateMarketplace(platform.store, { ...SMALL, scale: 0.1 });
    const [sales, payments] = selectDomains(config.domainsDir, ['sales', 'payments']);
    written.length = 0;
    expect((await runDomainPipeline(platform, sales!)).status).toBe('succeeded');
    // Its run record, written under the sales profile (its data may already be current: nothing new to publish).
    expect(written.some((w) => w.bucket === 'acme-platform' && w.key.startsWith('runs/sales/'))).toBe(true);
    written.length = 0;
    const err = await runDomainPipeline(platform, payments!).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/access key is unknown to the server .*InvalidAccessKeyId/);
    expect(written).toEqual([]);
  });

  it('migrates a one-bucket mesh: copies, verifies, and only then switches over; rerunnable', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'lake' }));
    const single = loadConfig(env({ MESH_S3_BUCKET: 'lake' }));
    const before = recordingPlatform(single, createObjectStore(single.store, { client: { credentials } }));
    await generateMarketplace(before.store, { ...SMALL, scale: 0.1 });
    for (const d of selectDomains(single.domainsDir, ['payments']))
      expect((await runDomainPipeline(before, d)).status).toBe('succeeded');
    const lake = await keysOf('lake');

    // Both set: the one bucket until the migration has switched over.
    const both = loadConfig(env({ MESH_S3_BUCKET: 'lake', MESH_S3_BUCKET_TEMPLATE: 'shop-{domain}' }));
    const waiting = createObjectStore(both.store, { owners: () => DOMAINS, client: { credentials } });
    expect((await waiting.list('payments/curated/')).length).toBeGreaterThan(0);

    const report = await migrateStoreToBuckets(both.store, DOMAINS, { credentials });
    expect(report).toMatchObject({ objects: lake.length, copied: lake.length, skipped: 0 });
    for (const d of DOMAINS)
      expect((await keysOf(`shop-${d}`)).sort()).toEqual(
        lake
          .filter((k) => k.startsWith(`${d}/`))
          .map((k) => k.slice(d.length + 1))
          .sort(),
      );
    expect(await keysOf('lake')).toContain(MIGRATED_MARKER_KEY);
    // Rerun after an interruption: what is in place is kept.
    expect(await migrateStoreToBuckets(both.store, DOMAINS, { credentials })).toMatchObject({
      copied: 0,
      skipped: lake.length,
    });

    // A process started now reads and writes the buckets, the same keys as before.
    const after = recordingPlatform(
      both,
      createObjectStore(both.store, { owners: () => DOMAINS, client: { credentials } }),
    );
    expect((await currentManifest(after, 'payments'))?.datasets.payments?.rows).toBeGreaterThan(0);
    await after.store.put('sales/raw/late/x.json', '{}\n');
    expect(await keysOf('shop-sales')).toContain('raw/late/x.json');
    expect(await keysOf('lake')).not.toContain('sales/raw/late/x.json');
  });

  it('refuses to migrate objects of no domain, copying nothing', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'stray' }));
    const both = loadConfig(env({ MESH_S3_BUCKET: 'stray', MESH_S3_BUCKET_TEMPLATE: 'stray-{domain}' }));
    const store = createObjectStore(both.store, { client: { credentials } });
    await store.put('sales/raw/a.json', '{}\n');
    await store.put('tmp/notes.txt', 'x');
    written.length = 0;
    const err = await migrateStoreToBuckets(both.store, DOMAINS, { credentials }).catch((e: unknown) => e);
    expect(isMeshError(err, ErrorCode.BAD_USER_INPUT)).toBe(true);
    expect((err as Error).message).toMatch(/1 object\(s\) belong to no domain \(tmp\/notes.txt\)/);
    expect(written).toEqual([]);
  });
});
