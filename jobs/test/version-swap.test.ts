import { afterAll, describe, expect, it } from 'vitest';
import { selectDomains } from '../../platform/domains.js';
import { testPlatform } from '../../platform/test/helpers.js';
import { generateMarketplace } from '../generate/index.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { CuratedData } from '../../products/subgraph/curatedData.js';
import { currentManifest } from '../../products/readers.js';

const opened: CuratedData[] = [];
afterAll(() => {
  for (const d of opened) d.close();
});

describe("a subgraph's curated data", () => {
  it('swaps versions one at a time: polls during a swap run once more after it, not beside it', async () => {
    const platform = testPlatform();
    await generateMarketplace(platform.store, { scale: 0.05, seed: 3, days: 7, end: '2026-11-01T00:00:00.000Z' });
    const sales = selectDomains(platform.config.domainsDir, ['sales'])[0]!;
    await runDomainPipeline(platform, sales);
    const data = await CuratedData.open(platform, 'sales');
    opened.push(data);
    const before = data.generation;
    await runDomainPipeline(platform, sales, { full: true });
    // Three polls at once, as a 2 s timer gives when a swap takes longer: one swap, one look after it, no third.
    const first = data.refresh();
    const second = data.refresh();
    const third = data.refresh();
    expect(third).toBe(second);
    expect(await Promise.all([first, second, third])).toEqual([true, false, false]);
    expect(data.generation).toBe(before + 2);
    expect(data.version).toBe(`sales:${(await currentManifest(platform, 'sales'))!.runId}`);
  }, 120_000);
});
