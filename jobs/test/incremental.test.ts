import { beforeAll, describe, expect, it } from 'vitest';
import { listDomains, selectDomains } from '../../platform/domains.js';
import { isMeshError } from '../../platform/errors.js';
import type { ObjectInfo } from '../../platform/index.js';
import { generateMarketplace } from '../generate/index.js';
import { Rng } from '../generate/rng.js';
import { currentManifest } from '../../products/readers.js';
import { extractManifestKey, rawPrefix } from '../../products/storeLayout.js';
import type { CuratedManifest, RunRecord, SourceAccounting } from '../../products/types.js';
import { runDomainPipeline } from '../pipeline/run.js';
import { planIngest } from '../pipeline/ingest.js';
import { loadPipeline } from '../pipeline/spec.js';
import { loadContract } from '../../governance/contracts/load.js';
import type { Platform } from '../../platform/index.js';
import { queryCurated } from '../../products/test/helpers.js';
import { testPlatform } from '../../platform/test/helpers.js';
import { Duck, readParquet } from '../../platform/duckdb.js';

const OPTIONS = { scale: 0.25, seed: 23, days: 45, end: '2026-11-01T00:00:00.000Z' };
const DOMAINS = listDomains(testPlatform().config.domainsDir).map((d) => d.name);

let origin: Platform;
const full: Record<string, RunRecord> = {};
const raw: Record<string, ObjectInfo[]> = {};

/**
 * Copies raw objects (and the extract manifest) from the generated store into another, as a source would deliver them.
 */
async function deliver(to: Platform, files: ObjectInfo[]): Promise<void> {
  for (const f of files) await to.store.put(f.key, await origin.store.get(f.key));
}

/**
 * One incremental run; a run that fails its gate (a batch that leaves a dataset empty) leaves the version as it was.
 */
async function run(platform: Platform, domain: string): Promise<RunRecord | undefined> {
  try {
    return await runDomainPipeline(platform, selectDomains(platform.config.domainsDir, [domain])[0]!);
  } catch (err) {
    if (isMeshError(err) && err.code === 'QUALITY_GATE_FAILED') return undefined;
    throw err;
  }
}

const versionOf = (m: CuratedManifest | undefined) =>
  Object.fromEntries(Object.values(m?.datasets ?? {}).map((d) => [d.name, d.sha256]));
const totals = (accounting: SourceAccounting[] | undefined) =>
  (accounting ?? []).map(({ source, files, in: n, curated, quarantined, duplicates, malformed }) => ({
    source,
    files,
    in: n,
    curated,
    quarantined,
    duplicates,
    malformed,
  }));

beforeAll(async () => {
  origin = testPlatform();
  await generateMarketplace(origin.store, OPTIONS);
  for (const d of DOMAINS) {
    raw[d] = (await origin.store.list(rawPrefix(d))).filter((f) => f.key !== extractManifestKey(d));
    full[d] = await runDomainPipeline(origin, selectDomains(origin.config.domainsDir, [d])[0]!, { full: true });
  }
}, 300_000);

describe('incremental pipelines', () => {
  it('publish the same curated data as a full rebuild, whatever order and batches raw files arrive in', async () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 2; trial++) {
      const target = testPlatform();
      for (const d of DOMAINS) {
        await target.store.put(extractManifestKey(d), await origin.store.get(extractManifestKey(d)));
        const order = [...raw[d]!];
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const batches = rng.int(2, 5);
        const cuts = [
          0,
          ...Array.from({ length: batches - 1 }, () => rng.int(1, order.length - 1)).sort((a, b) => a - b),
          order.length,
        ];
        const modes: string[] = [];
        for (let b = 0; b < batches; b++) {
          await deliver(target, order.slice(cuts[b], cuts[b + 1]));
          const r = await run(target, d);
          modes.push(r ? (r.unchanged ? 'unchanged' : r.mode) : 'gate');
        }
        const last = (await target.store.list(`_platform/runs/${d}/`)).length;
        expect(last, `${d}: a run per batch`).toBe(batches);
        const m = await currentManifest(target, d);
        const firstPublished = modes.findIndex((x) => x !== 'gate');
        expect(
          modes.slice(firstPublished + 1).every((x) => x !== 'full'),
          `${d}: runs after the first publication continue incrementally (${modes.join(', ')})`,
        ).toBe(true);
        expect(versionOf(m), `${d}, trial ${trial}: ${batches} batches (${modes.join(', ')})`).toEqual(
          Object.fromEntries(full[d]!.datasets.map((ds) => [ds.name, ds.sha256])),
        );
        const runs = await Promise.all(
          (await target.store.list(`_platform/runs/${d}/`)).map(
            async (o) => JSON.parse((await target.store.get(o.key)).toString()) as RunRecord,
          ),
        );
        const lastGood = runs
          .filter((r) => r.status === 'succeeded')
          .sort((a, b) => (a.runId < b.runId ? -1 : 1))
          .at(-1)!;
        expect(totals(lastGood.cumulative), `${d}: cumulative accounting equals the full run's`).toEqual(
          totals(full[d]!.accounting),
        );
        for (const r of runs) for (const a of r.accounting) expect(a.in).toBe(a.curated + a.quarantined + a.duplicates);
      }
    }
  }, 600_000);

  it('rewrite only the partitions new records reach, carry every other file over, and publish nothing when nothing ' +
    'is new', async () => {
    const target = testPlatform();
    const d = 'sales';
    // Everything but each stream's newest file, then those: the shape of a scheduled run after a day of new data.
    const streams = new Map<string, string>();
    for (const f of raw[d]!) {
      const stream = f.key.replace(/[^/]*$/, '').replace(/\d{4}-?\d{2}-?\d{2}/g, '');
      if ((streams.get(stream) ?? '') < f.key) streams.set(stream, f.key);
    }
    const newest = new Set(streams.values());
    // Extracted a day earlier, so that what it holds passes the freshness gate.
    const extract = JSON.parse((await origin.store.get(extractManifestKey(d))).toString()) as { asOf: string };
    await target.store.put(
      extractManifestKey(d),
      JSON.stringify({ ...extract, asOf: new Date(Date.parse(extract.asOf) - 86_400_000).toISOString() }),
    );
    await deliver(
      target,
      raw[d]!.filter((f) => !newest.has(f.key)),
    );
    const first = (await run(target, d))!;
    expect(first.status).toBe('succeeded');
    await target.store.put(extractManifestKey(d), await origin.store.get(extractManifestKey(d)));
    await deliver(
      target,
      raw[d]!.filter((f) => newest.has(f.key)),
    );
    const second = (await run(target, d))!;
    expect(second.mode, second.modeReason).toBe('incremental');
    expect(second.accounting.reduce((n, a) => n + a.files, 0)).toBe(newest.size);
    const orders = (r: RunRecord) => r.datasets.find((x) => x.name === 'orders')!;
    const kept = orders(second).files.filter((f) => orders(first).files.some((g) => g.key === f.key));
    expect(orders(second).files.map((f) => f.partition)).toEqual(['2026-09', '2026-10']);
    expect(
      kept.map((f) => f.partition),
      'the month no new record reaches keeps its file',
    ).toEqual(['2026-09']);
    expect(versionOf(await currentManifest(target, d))).toEqual(
      Object.fromEntries(full[d]!.datasets.map((ds) => [ds.name, ds.sha256])),
    );

    const again = (await run(target, d))!;
    expect(again).toMatchObject({ mode: 'incremental', unchanged: true });
    expect((await currentManifest(target, d))!.runId).toBe(second.runId);
  }, 300_000);

  it('replace only the files holding what a run recomputes, merge small files four of a size at a time', async () => {
    const target = testPlatform();
    const d = 'sales';
    await target.store.put(extractManifestKey(d), await origin.store.get(extractManifestKey(d)));
    const events = raw[d]!.filter((f) => f.key.includes('/sales.orders/')).sort((a, b) => (a.key < b.key ? -1 : 1));
    const late = events.slice(-16);
    await deliver(
      target,
      raw[d]!.filter((f) => !late.includes(f)),
    );
    let before = (await run(target, d))!;
    const duck = await Duck.open();
    try {
      for (const file of late) {
        await deliver(target, [file]);
        const after = (await run(target, d))!;
        const orders = (r: RunRecord) => r.datasets.find((x) => x.name === 'orders')!;
        const kept = new Set(orders(after).files.map((f) => f.key));
        const replaced = orders(before).files.filter((f) => !kept.has(f.key));
        const named = (await target.store.get(file.key))
          .toString()
          .split('\n')
          .flatMap((l) => {
            try {
              return [String((JSON.parse(l) as { order_id: unknown }).order_id)];
            } catch {
              return [];
            }
          });
        // A file replaced held an order this run's events name (or was merged with files of its size).
        for (const f of replaced) {
          const ids = await duck.all<{ order_id: string }>(
            `SELECT order_id FROM ${readParquet([await target.store.localPath(f.key)])}`,
          );
          const merged = orders(after).files.some(
            (g) => !orders(before).files.some((x) => x.key === g.key) && g.rows >= f.rows * 2,
          );
          expect(merged || ids.some((r) => named.includes(r.order_id)), `${f.key} was rewritten for nothing`).toBe(
            true,
          );
        }
        // Within a partition, fewer than four files of each size (rows within a factor of four).
        for (const ds of after.datasets) {
          const tiers = new Map<string, number>();
          for (const f of ds.files) {
            const tier = `${f.partition ?? ''}:${Math.floor(Math.log(Math.max(f.rows, 1)) / Math.log(4))}`;
            tiers.set(tier, (tiers.get(tier) ?? 0) + 1);
          }
          expect(Math.max(...tiers.values()), `${ds.name}: ${[...tiers]}`).toBeLessThan(4);
        }
        before = after;
      }
    } finally {
      duck.close();
    }
    expect(before.datasets.find((x) => x.name === 'orders')!.files.length).toBeGreaterThan(
      new Set(before.datasets.find((x) => x.name === 'orders')!.files.map((f) => f.partition)).size,
    );
    expect(versionOf(await currentManifest(target, d))).toEqual(
      Object.fromEntries(full[d]!.datasets.map((ds) => [ds.name, ds.sha256])),
    );
    // The rules that add up were counted on what changed, and judge as the full build judged the whole.
    const judged = (r: RunRecord) =>
      r.quality.map(({ dataset, rule, column, passed, observed, elementCount }) => ({
        dataset,
        rule,
        column,
        passed,
        observed,
        elementCount,
      }));
    expect(judged(before)).toEqual(judged(full[d]!));
  }, 300_000);

  it('rebuild in full when a raw object already read is rewritten, or the definition changes', async () => {
    const target = testPlatform();
    const d = 'catalog';
    await target.store.put(extractManifestKey(d), await origin.store.get(extractManifestKey(d)));
    await deliver(target, raw[d]!);
    expect((await run(target, d))!.mode).toBe('full');
    const victim = raw[d]![0]!;
    const body = (await origin.store.get(victim.key)).toString();
    // The feed re-sent with one product's line dropped: the only faithful answer is to read everything again.
    await target.store.put(victim.key, body.split('\n').slice(1).join('\n'));
    const rerun = (await run(target, d))!;
    expect(rerun).toMatchObject({
      mode: 'full',
      modeReason: `raw object ${victim.key} was rewritten after it was read`,
    });
    const [row] = await queryCurated<{ n: number }>(target, 'SELECT count(*) AS n FROM p', {
      p: ['catalog', 'products'],
    });
    expect(Number(row!.n)).toBeGreaterThan(0);

    const domain = selectDomains(target.config.domainsDir, [d])[0]!;
    const pipeline = loadPipeline(domain, loadContract(domain.contractFile, d));
    expect(await planIngest(target, pipeline, 'another definition', false)).toMatchObject({
      mode: 'full',
      reason: 'the pipeline definition changed',
    });
  }, 300_000);

  it('recompute a dataset with no new records of its own without touching it, the whole dataset checked', async () => {
    const target = testPlatform();
    const d = 'sales';
    await target.store.put(extractManifestKey(d), await origin.store.get(extractManifestKey(d)));
    const returns = raw[d]!.filter((f) => f.key.includes('/returns/'));
    await deliver(
      target,
      raw[d]!.filter((f) => !returns.includes(f)),
    );
    await deliver(target, returns.slice(0, 1));
    const first = (await run(target, d))!;
    await deliver(target, returns.slice(1));
    const second = (await run(target, d))!;
    const ds = (r: RunRecord, name: string) => r.datasets.find((x) => x.name === name)!;
    expect(ds(second, 'orders').sha256, 'orders read no new record').toBe(ds(first, 'orders').sha256);
    expect(ds(second, 'returns').rows).toBeGreaterThan(ds(first, 'returns').rows);
    // Rules run over each whole dataset, not just the rows a run wrote (this one wrote no order).
    const rowCount = second.quality.find((q) => q.dataset === 'orders' && q.rule === 'rowCount');
    expect(Number(rowCount?.observed)).toBe(ds(second, 'orders').rows);
  }, 300_000);
});
