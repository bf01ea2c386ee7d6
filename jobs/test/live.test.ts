import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LiveMarketplace } from '../generate/live.js';
import { generateMarketplace } from '../generate/index.js';
import { extractManifestKey } from '../../products/storeLayout.js';
import type { ObjectStore } from '../../platform/index.js';
import { testPlatform } from '../../platform/test/helpers.js';

const OPTIONS = { scale: 0.1, seed: 31, days: 20, end: '2026-11-01T00:00:00.000Z' };
const HOUR = 3_600_000;
const END = Date.parse(OPTIONS.end);

async function rawObjects(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const domain of ['sales', 'catalog', 'fulfillment', 'payments', 'campaigns']) {
    for (const o of await store.list(`${domain}/raw/`)) {
      if (!o.key.endsWith('_extract.json'))
        out.set(
          o.key,
          createHash('sha256')
            .update(await store.get(o.key))
            .digest('hex'),
        );
    }
  }
  return out;
}

/** Where the simulation's order events go when they are a stream: each publication recorded, in order. */
function recordingPublisher() {
  const events: { id: string; data: string }[] = [];
  return { events, publish: async (batch: { id: string; data: string }[]) => void events.push(...batch) };
}

describe('the live marketplace', () => {
  it('with a stream, publishes each hour of order events, no topic files; a restart publishes the new', async () => {
    const p = testPlatform();
    const first = recordingPublisher();
    const live = await LiveMarketplace.start(p.store, OPTIONS, 2, undefined, first);
    const history = first.events.length;
    expect(history).toBeGreaterThan(100);
    expect(await p.store.list('sales/raw/topics/')).toEqual([]);
    expect(await live.advance(END + 6 * HOUR)).toBe(6);
    expect(first.events.length).toBeGreaterThan(history);
    // A restart replays the simulation without publishing it again, then publishes the next hours: exactly what a run
    // that never stopped publishes for them.
    const second = recordingPublisher();
    const resumed = (await LiveMarketplace.resume(p.store, second))!;
    expect(second.events).toEqual([]);
    expect(await resumed.advance(END + 12 * HOUR)).toBe(6);
    const straight = recordingPublisher();
    const unbroken = await LiveMarketplace.start(testPlatform().store, OPTIONS, 2, undefined, straight);
    await unbroken.advance(END + 6 * HOUR);
    const before = straight.events.length;
    await unbroken.advance(END + 12 * HOUR);
    expect(before).toBe(first.events.length);
    expect(second.events.length).toBeGreaterThan(0);
    expect(second.events).toEqual(straight.events.slice(before));
  });

  it('delivers each hour of data time as new raw objects, the same however it is driven, and resumes by replay after ' +
    'a restart', async () => {
    const a = testPlatform();
    const liveA = await LiveMarketplace.start(a.store, OPTIONS, 5);
    const history = await rawObjects(a.store);
    expect(history.size).toBeGreaterThan(20);
    expect(await liveA.advance(END + 30 * HOUR + 59_000)).toBe(30);
    const after = await rawObjects(a.store);
    const delivered = [...after.keys()].filter((k) => !history.has(k));
    expect(delivered.length).toBeGreaterThan(30);
    expect(
      [...history].every(([k, h]) => after.get(k) === h),
      'no object of the history is rewritten',
    ).toBe(true);
    expect(JSON.parse((await a.store.get(extractManifestKey('sales'))).toString()).asOf).toBe(
      new Date(END + 30 * HOUR).toISOString(),
    );
    // Every event in a delivery happened before the delivery's hour ended.
    const carrier = delivered.filter((k) => k.includes('carrier_events'));
    expect(carrier.length).toBeGreaterThan(0);
    for (const key of carrier) {
      const hourEnd =
        Date.parse(
          `${key.match(/date=(\d{4}-\d{2}-\d{2})/)![1]}T${key
            .match(/_(\d{2})(\d{2})\.jsonl$/)!
            .slice(1)
            .join(':')}:00Z`,
        ) + HOUR;
      for (const line of (await a.store.get(key)).toString().trim().split('\n')) {
        const t = (() => {
          try {
            return Date.parse((JSON.parse(line) as { event_time: string }).event_time);
          } catch {
            return NaN; // a truncated line: dirt, as in the history
          }
        })();
        if (!Number.isNaN(t) && t > 86_400_000) expect(t).toBeLessThan(hourEnd);
      }
    }

    // The same data time reached in two steps across a restart gives the same objects.
    const b = testPlatform();
    const liveB = await LiveMarketplace.start(b.store, OPTIONS, 5);
    await liveB.advance(END + 12 * HOUR + 1);
    const resumed = (await LiveMarketplace.resume(b.store))!;
    expect(resumed.until).toBe(END + 12 * HOUR);
    await resumed.advance(END + 30 * HOUR);
    expect(await rawObjects(b.store)).toEqual(after);
  }, 120_000);

  it('leaves plain generation byte-reproducible', async () => {
    const [x, y] = [testPlatform(), testPlatform()];
    await generateMarketplace(x.store, OPTIONS);
    await generateMarketplace(y.store, OPTIONS);
    expect(await rawObjects(x.store)).toEqual(await rawObjects(y.store));
  }, 60_000);
});
