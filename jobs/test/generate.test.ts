import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore, type ObjectStore } from '../../platform/store/index.js';
import { generateMarketplace, GENERATED_DOMAINS } from '../generate/index.js';
import { isMeshError } from '../../platform/errors.js';
import { SMALL } from './helpers.js';
import { tempDir } from '../../platform/test/helpers.js';

async function digest(store: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of GENERATED_DOMAINS) {
    for (const o of await store.list(`${d}/raw/`))
      out[o.key] = createHash('sha256')
        .update(await store.get(o.key))
        .digest('hex');
  }
  return out;
}

describe('source generator', () => {
  it('is byte-identical for a seed, different for another, and replaces earlier raw data', async () => {
    const a = new LocalObjectStore(tempDir());
    const b = new LocalObjectStore(tempDir());
    await b.put('sales/raw/topics/sales.orders/partition=9/leftover.json', '{}\n');
    await generateMarketplace(a, SMALL);
    await generateMarketplace(b, SMALL);
    const da = await digest(a);
    expect(Object.keys(da).length).toBeGreaterThan(50);
    expect(await digest(b)).toEqual(da);
    const c = new LocalObjectStore(tempDir());
    await generateMarketplace(c, { ...SMALL, seed: SMALL.seed + 1 });
    expect(await digest(c)).not.toEqual(da);
  });

  it('writes the shapes teams receive, with tags, and reports the dirt it injected', async () => {
    const store = new LocalObjectStore(tempDir());
    const report = await generateMarketplace(store, SMALL);
    const keys = (await store.list('')).map((o) => o.key);
    expect(
      keys.some((k) => /^sales\/raw\/topics\/sales\.orders\/partition=\d\/sales\.orders\+\d\+\d{10}\.json$/.test(k)),
    ).toBe(true);
    expect(keys.some((k) => /^sales\/raw\/returns\/returns_\d{8}\.csv$/.test(k))).toBe(true);
    expect(
      keys.some((k) =>
        /^fulfillment\/raw\/carrier_events\/carrier=\w+\/date=\d{4}-\d{2}-\d{2}\/events\.jsonl$/.test(k),
      ),
    ).toBe(true);
    expect(keys.some((k) => /^payments\/raw\/settlements\/processor=\w+\/settlement_\d{8}\.csv$/.test(k))).toBe(true);
    expect(await store.getTags(keys.find((k) => k.startsWith('payments/raw/settlements/'))!)).toEqual({
      domain: 'payments',
      'data-product': 'settlements',
      layer: 'raw',
    });
    for (const s of report.sources.filter((x) => x.records > 1000)) {
      expect(s.malformed + s.nulls + s.outOfRange, `${s.source} has dirt`).toBeGreaterThan(0);
      expect(s.duplicates, `${s.source} has duplicates`).toBeGreaterThan(0);
      expect(s.lines).toBe(s.records + s.duplicates);
    }
    const settlement = (await store.get(keys.find((k) => k.startsWith('payments/raw/settlements/'))!))
      .toString()
      .split('\n')[0];
    expect(settlement).toBe(
      'transaction_id,payment_id,order_id,processor,type,amount,currency,method,card_last4,processed_at,failure_code',
    );
  });

  it('refuses nonsense options with a clear message', async () => {
    const store = new LocalObjectStore(tempDir());
    await expect(generateMarketplace(store, { ...SMALL, days: 2 })).rejects.toSatisfy(
      (e: unknown) => isMeshError(e, 'BAD_USER_INPUT') && /--days/.test((e as Error).message),
    );
    await expect(generateMarketplace(store, { ...SMALL, scale: -1 })).rejects.toThrow(/--scale/);
  });
});
