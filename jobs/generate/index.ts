import { putJson, MeshError, ErrorCode, type ObjectStore, type Progress } from '../../platform/index.js';
import { SIMULATION_STATE_KEY, extractManifestKey, rawPrefix } from '../../products/index.js';
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

const DAY = 86_400_000;
/** No event lands more than this many days after the day that caused it (returns, refunds, late arrivals). */
const MAX_LAG_DAYS = 60;

/** Writes raw data for all five domains, byte-identical for the same options. Existing raw data is replaced. */
export async function generateMarketplace(
  store: ObjectStore,
  options: GenerateOptions,
  progress?: Progress,
): Promise<GenerateReport> {
  const started = Date.now();
  const world = buildWorld(options, options.days);
  await clearRaw(store, progress);
  await simulateHistory(world, store, progress);
  for (const s of world.sinks) await s.flushThrough(store, options.days);
  const sources = world.sinks.map((s) => s.report);
  progress?.done(
    'generated raw sources',
    sources.reduce((n, s) => n + s.lines, 0),
    'lines',
  );
  await writeExtracts(store, options, world.endMs, sources);
  return { options, asOf: new Date(world.endMs).toISOString(), sources, durationMs: Date.now() - started };
}

/** The marketplace and its sinks, simulating `totalDays` from `options.end - options.days` (past the end when live). */
export interface World {
  market: Marketplace;
  sinks: FileSink[];
  startMs: number;
  endMs: number;
  totalDays: number;
  dirt: DirtRates;
}

export function buildWorld(options: GenerateOptions, totalDays: number): World {
  validate(options);
  const endMs = Date.parse(options.end);
  const startMs = endMs - options.days * DAY;
  const dirt = options.dirt ?? DEFAULT_DIRT;
  const root = new Rng(options.seed);
  const customers = makeCustomers(root.fork(1), Math.max(10, Math.round(2000 * options.scale)), options.days);
  const products = makeProducts(root.fork(2), Math.round(250 + 150 * Math.sqrt(options.scale)), options.days);
  const campaigns = makeCampaigns(root.fork(3), options.days);
  // Live, the world keeps growing past the history at the rates it grew during it: sign-ups, launches, campaigns.
  const horizon = totalDays - options.days;
  if (horizon > 0) {
    const grow = (n: number, share: number) => Math.round((n * share * horizon) / options.days);
    customers.push(
      ...makeCustomers(root.fork(5), grow(customers.length, 0.25), horizon, customers.length + 1, options.days),
    );
    products.push(
      ...makeProducts(root.fork(6), grow(products.length, 0.15), horizon, products.length + 1, options.days),
    );
    campaigns.push(...makeCampaigns(root.fork(7), horizon, campaigns.length + 1, options.days));
  }
  const sink = (spec: typeof S.CUSTOMERS, salt: number) =>
    new FileSink(spec, root.fork(salt), dirt, startMs, totalDays);
  const sinks: Sinks = {
    orders: new KafkaTopicSink(S.ORDER_EVENTS, root.fork(10), dirt, startMs, totalDays, 'sales.orders', 3, 5000),
    customers: sink(S.CUSTOMERS, 11),
    returns: sink(S.RETURNS, 12),
    products: sink(S.PRODUCT_FEED, 13),
    carrier: sink(S.CARRIER_EVENTS, 14),
    settlements: sink(S.SETTLEMENTS, 15),
    campaigns: sink(S.CAMPAIGN_DEFINITIONS, 16),
    touches: sink(S.TOUCHES, 17),
  };
  const market = new Marketplace(root.fork(4), startMs, totalDays, customers, products, campaigns, sinks);
  return { market, sinks: Object.values(sinks), startMs, endMs, totalDays, dirt };
}

/** Removes raw data, and any live simulation that was delivering into it. */
export async function clearRaw(store: ObjectStore, progress?: Progress): Promise<void> {
  progress?.step('clearing previous raw data');
  await store.delete(SIMULATION_STATE_KEY);
  for (const domain of GENERATED_DOMAINS) {
    for (const obj of await store.list(rawPrefix(domain))) await store.delete(obj.key);
  }
}

/**
 * Simulates the history window day by day, writing each day once no more lines can arrive for it (without a store: only
 * simulating).
 */
export async function simulateHistory(
  world: World,
  store: ObjectStore | undefined,
  progress?: Progress,
): Promise<void> {
  const days = Math.round((world.endMs - world.startMs) / DAY);
  progress?.step('simulating the marketplace');
  for (let d = 0; d < days; d++) {
    world.market.simulateDay(d);
    for (const s of world.sinks) await s.flushThrough(store, d - MAX_LAG_DAYS);
    progress?.update('simulating day', d + 1, days);
  }
}

/** Each domain's extract manifest: the time its sources have delivered up to. */
export async function writeExtracts(
  store: ObjectStore,
  options: GenerateOptions & { live?: unknown },
  asOfMs: number,
  sources: SourceReport[],
): Promise<void> {
  const asOf = new Date(asOfMs).toISOString();
  for (const domain of GENERATED_DOMAINS) {
    await putJson(
      store,
      extractManifestKey(domain),
      {
        asOf,
        generator: { ...options, dirt: options.dirt ?? DEFAULT_DIRT },
        sources: sources.filter((s) => s.domain === domain),
      },
      { domain, 'data-product': '_extract', layer: 'raw' },
    );
  }
}

function validate(o: GenerateOptions): void {
  const bad = (what: string) => {
    throw new MeshError(ErrorCode.BAD_USER_INPUT, what, { options: o });
  };
  if (!(o.scale > 0 && o.scale <= 1000)) bad(`--scale must be a number in (0, 1000], got ${o.scale}`);
  if (!Number.isInteger(o.seed)) bad(`--seed must be an integer, got ${o.seed}`);
  if (!(Number.isInteger(o.days) && o.days >= 7 && o.days <= 3650))
    bad(`--days must be an integer from 7 to 3650, got ${o.days}`);
  if (Number.isNaN(Date.parse(o.end))) bad(`--end must be an ISO date, got "${o.end}"`);
}
