import { putJson, MeshError, ErrorCode, type ObjectStore, type Progress } from '../../platform/index.js';
import { extractManifestKey, rawPrefix } from '../../products/index.js';
import { Rng } from './rng.js';
import { makeCampaigns, makeCustomers, makeProducts } from './world.js';
import { DEFAULT_DIRT, FileSink, KafkaTopicSink, type DirtRates, type SourceReport } from './sinks.js';
import * as S from './sources.js';
import { Marketplace, type Sinks } from './simulate.js';

export type { SourceReport, DirtRates } from './sinks.js';
export { DEFAULT_DIRT } from './sinks.js';

export interface GenerateOptions {
  /** 1 = 2,000 customers (about 300k raw lines over 120 days); linear in customers. */
  scale: number;
  seed: number;
  days: number;
  /** The extraction time: the end of the simulated window (exclusive). */
  end: string;
  dirt?: DirtRates;
}

export const DEFAULT_GENERATE: GenerateOptions = { scale: 1, seed: 42, days: 180, end: '2026-11-01T00:00:00.000Z' };

export interface GenerateReport {
  options: GenerateOptions;
  asOf: string;
  sources: SourceReport[];
  durationMs: number;
}

export const GENERATED_DOMAINS = ['sales', 'catalog', 'fulfillment', 'payments', 'campaigns'] as const;

/** The key of the extract manifest the generator leaves beside each domain's raw files. */

const DAY = 86_400_000;
/** No event lands more than this many days after the day that caused it (returns, refunds, late arrivals). */
const MAX_LAG_DAYS = 60;

/** Writes raw data for all five domains, byte-identical for the same options. Existing raw data is replaced. */
export async function generateMarketplace(store: ObjectStore, options: GenerateOptions, progress?: Progress): Promise<GenerateReport> {
  validate(options);
  const started = Date.now();
  const endMs = Date.parse(options.end);
  const startMs = endMs - options.days * DAY;
  const dirt = options.dirt ?? DEFAULT_DIRT;
  const root = new Rng(options.seed);

  progress?.step('clearing previous raw data');
  for (const domain of GENERATED_DOMAINS) {
    for (const obj of await store.list(rawPrefix(domain))) await store.delete(obj.key);
  }

  const customers = makeCustomers(root.fork(1), Math.max(10, Math.round(2000 * options.scale)), options.days);
  const products = makeProducts(root.fork(2), Math.round(250 + 150 * Math.sqrt(options.scale)), options.days);
  const campaigns = makeCampaigns(root.fork(3), options.days);
  const sink = (spec: typeof S.CUSTOMERS, salt: number) => new FileSink(spec, root.fork(salt), dirt, startMs, options.days);
  const sinks: Sinks = {
    orders: new KafkaTopicSink(S.ORDER_EVENTS, root.fork(10), dirt, startMs, options.days, 'sales.orders', 3, 5000),
    customers: sink(S.CUSTOMERS, 11),
    returns: sink(S.RETURNS, 12),
    products: sink(S.PRODUCT_FEED, 13),
    carrier: sink(S.CARRIER_EVENTS, 14),
    settlements: sink(S.SETTLEMENTS, 15),
    campaigns: sink(S.CAMPAIGN_DEFINITIONS, 16),
    touches: sink(S.TOUCHES, 17),
  };
  const market = new Marketplace(root.fork(4), startMs, options.days, customers, products, campaigns, sinks);
  const all = Object.values(sinks);

  progress?.step('simulating the marketplace');
  for (let d = 0; d < options.days; d++) {
    market.simulateDay(d);
    for (const s of all) await s.flushThrough(store, d - MAX_LAG_DAYS);
    progress?.update('simulating day', d + 1, options.days);
  }
  for (const s of all) await s.flushThrough(store, options.days);
  const sources = all.map((s) => s.report);
  progress?.done('generated raw sources', sources.reduce((n, s) => n + s.lines, 0), 'lines');

  const asOf = new Date(endMs).toISOString();
  for (const domain of GENERATED_DOMAINS) {
    await putJson(
      store,
      extractManifestKey(domain),
      { asOf, generator: { ...options, dirt }, sources: sources.filter((s) => s.domain === domain) },
      { domain, 'data-product': '_extract', layer: 'raw' },
    );
  }
  return { options, asOf, sources, durationMs: Date.now() - started };
}

function validate(o: GenerateOptions): void {
  const bad = (what: string) => {
    throw new MeshError(ErrorCode.BAD_USER_INPUT, what, { options: o });
  };
  if (!(o.scale > 0 && o.scale <= 1000)) bad(`--scale must be a number in (0, 1000], got ${o.scale}`);
  if (!Number.isInteger(o.seed)) bad(`--seed must be an integer, got ${o.seed}`);
  if (!(Number.isInteger(o.days) && o.days >= 7 && o.days <= 3650)) bad(`--days must be an integer from 7 to 3650, got ${o.days}`);
  if (Number.isNaN(Date.parse(o.end))) bad(`--end must be an ISO date, got "${o.end}"`);
}
