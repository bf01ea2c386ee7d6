import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fenceWrites, LocalObjectStore, wrapStore, type ObjectStore } from '../../platform/store/index.js';
import { isMeshError, ErrorCode } from '../../platform/errors.js';
import { listDomains } from '../../platform/domains.js';
import { recordingPlatform, tempDir, testConfig } from '../../platform/test/helpers.js';
import { pipelineWritePrefixes } from '../../governance/iam.js';
import { generateMarketplace } from '../generate/index.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { SMALL } from './helpers.js';

/** `store`, noting every write and delete that reaches it. */
const noting = (store: ObjectStore, writes: string[]): ObjectStore =>
  wrapStore(store, {
    put: (key, body, options) => (writes.push(key), store.put(key, body, options)),
    putFile: (key, file, options) => (writes.push(key), store.putFile(key, file, options)),
    delete: (key) => (writes.push(key), store.delete(key)),
  });

describe("a domain's pipeline writes only its own data", () => {
  it('refuses, before any request, a write or delete outside its prefixes, and names who and what', async () => {
    const root = tempDir();
    const reached: string[] = [];
    const sales = fenceWrites(noting(new LocalObjectStore(root), reached), 'sales-pipeline', [
      ...pipelineWritePrefixes('sales'),
    ]);
    for (const key of [
      'sales/raw/orders/a.jsonl',
      'sales/curated/_manifest.json',
      'sales/restricted/orders/v=1/data.parquet',
      '_platform/runs/sales/r1.json',
      '_platform/metrics/jobs/pipeline.sales.json',
    ])
      await sales.put(key, 'x');
    const refused = [
      'payments/curated/_manifest.json',
      'payments/raw/payments/a.jsonl',
      'sales/features/customer_orders@v1/_manifest.json',
      '_platform/runs/payments/r1.json',
      '_platform/metrics/jobs/pipeline.salesx.json',
      '_platform/schemas/supergraph.graphql',
    ];
    for (const key of refused) {
      const err = await sales.put(key, 'x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isMeshError(err, ErrorCode.FORBIDDEN), key).toBe(true);
      expect((err as Error).message).toContain(`sales-pipeline may not write "${key}"`);
      expect(fs.existsSync(path.join(root, key))).toBe(false);
    }
    const file = path.join(tempDir(), 'data.parquet');
    fs.writeFileSync(file, 'x');
    await expect(sales.putFile('payments/curated/orders/v=1/data.parquet', file)).rejects.toThrow(/may not write/);
    expect(fs.existsSync(file)).toBe(true);
    await expect(sales.delete('payments/curated/_manifest.json')).rejects.toThrow(/may not write/);
    await sales.delete('sales/raw/orders/a.jsonl');
    expect(reached).toEqual([
      'sales/raw/orders/a.jsonl',
      'sales/curated/_manifest.json',
      'sales/restricted/orders/v=1/data.parquet',
      '_platform/runs/sales/r1.json',
      '_platform/metrics/jobs/pipeline.sales.json',
      'sales/raw/orders/a.jsonl',
    ]);
  });

  it("runs every domain's pipeline inside its fence: every key it writes is one its IAM policy grants", async () => {
    const writes: string[] = [];
    const store = noting(new LocalObjectStore(tempDir()), writes);
    const platform = recordingPlatform(testConfig(), store);
    await generateMarketplace(platform.store, SMALL);
    for (const d of listDomains(platform.config.domainsDir)) {
      writes.length = 0;
      const run = await runDomainPipeline(platform, d);
      expect(run.status).toBe('succeeded');
      const prefixes = pipelineWritePrefixes(d.name);
      expect(writes.filter((k) => !prefixes.some((p) => k.startsWith(p)))).toEqual([]);
      // Each kind of write happened: the fence was in the way of real work.
      for (const kind of [`${d.name}/curated/`, `${d.name}/staged/`, `_platform/runs/${d.name}/`])
        expect(
          writes.some((k) => k.startsWith(kind)),
          `${d.name}: ${kind}`,
        ).toBe(true);
    }
  });
});
