import { putJson, MeshError, ErrorCode, type ObjectStore, type Progress } from '../../platform/index.js';
import { SIMULATION_STATE_KEY, extractManifestKey, rawPrefix } from '../../products/index.js';
import { Rng } from './rng.js';
import { makeCampaigns, makeCustomers, makeProducts } from './world.js';
import {
  DEFAULT_DIRT,
  FileSink,
  KafkaTopicSink,
  StreamSink,
  type DirtRates,
  type EventPublisher,
  type SourceReport,
} from './sinks.js';
import * as S from './sources.js';
import { Marketplace, type EdgePlan, type Sinks } from './simulate.js';

export type { SourceReport, DirtRates, EventPublisher } from './sinks.js';
export { DEFAULT_DIRT } from './sinks.js';

export interface GenerateOptions {
  /** 1 = 2,000 customers (about 300k raw lines over 120 days); linear in customers. */
  scale: number;
  seed: number;
  days: number;
  /** The extraction time: the end of the simulated window (exclusive). */
  end: string;
  dirt?: DirtRates;
  /**
   * Boundary cases the random history rarely holds, placed on purpose (for the tests of feature values): orders at a
   * snapshot's midnight and a second either side of it, exactly 7, 30 and 90 days before it and a second earlier; a
   * cancellation, a delivery, a payment, a return and refunds at that midnight, and a campaign touch just before it
   * converting just after; the first and last instants of the history; and a customer who never orders. Customers
   * `c-edge-1` to `c-edge-4`.
   */
  edgeCases?: boolean;
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
  orderEvents?: EventPublisher,
): Promise<GenerateReport> {
  const started = Date.now();
  const world = buildWorld(options, options.days, orderEvents);
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

/** With `orderEvents`, sales order events are published there (a stream) instead of written as topic files. */
export function buildWorld(options: GenerateOptions, totalDays: number, orderEvents?: EventPublisher): World {
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
    orders: orderEvents
      ? new StreamSink(S.ORDER_EVENTS, root.fork(10), dirt, startMs, totalDays, orderEvents)
      : new KafkaTopicSink(S.ORDER_EVENTS, root.fork(10), dirt, startMs, totalDays, 'sales.orders', 3, 5000),
    customers: sink(S.CUSTOMERS, 11),
    returns: sink(S.RETURNS, 12),
    products: sink(S.PRODUCT_FEED, 13),
    carrier: sink(S.CARRIER_EVENTS, 14),
    settlements: sink(S.SETTLEMENTS, 15),
    campaigns: sink(S.CAMPAIGN_DEFINITIONS, 16),
    touches: sink(S.TOUCHES, 17),
  };
  const edges = options.edgeCases ? edgePlans(root.fork(8), startMs, endMs, options.days) : [];
  customers.push(...edges.map((e) => e.customer));
  const market = new Marketplace(root.fork(4), startMs, totalDays, customers, products, campaigns, sinks, edges);
  return { market, sinks: Object.values(sinks), startMs, endMs, totalDays, dirt };
}

/**
 * The boundary cases, around the snapshot five days before the end (S, a midnight): what a window on S includes or
 * leaves out turns on a second.
 */
function edgePlans(rng: Rng, startMs: number, endMs: number, days: number): EdgePlan[] {
  const S = startMs + (days - 5) * DAY;
  const SEC = 1000;
  const customers = makeCustomers(rng, 4, days).map((c, i) => ({
    ...c,
    id: `c-edge-${i + 1}`,
    // Signed up before the history: every snapshot of it has a row for them.
    signupDay: -1,
    baseRate: 0,
    cardRisk: 0,
  }));
  const inside = (t: number) => t >= startMs && t < endMs;
  const windows = [7, 30, 90].flatMap((n) => [S - n * DAY, S - n * DAY - SEC]);
  return [
    // At the snapshot's midnight and a second either side; at the edges of the 7, 30 and 90-day windows.
    { customer: customers[0]!, orders: [S - SEC, S, S + SEC, ...windows].filter(inside).map((at) => ({ at })) },
    {
      customer: customers[1]!,
      orders: [
        // Cancelled and refunded at the snapshot: still held by S, gone from S + 1 day.
        { at: S - 3 * DAY, cancelAt: S, refundAt: S },
        // Delivered at the snapshot.
        { at: S - 10 * DAY, deliveredAt: S },
        // Returned and refunded at the snapshot.
        { at: S - 20 * DAY, deliveredAt: S - 15 * DAY, returnAt: S, refundAt: S },
        // Paid at the snapshot.
        { at: S - 60 * SEC, paidAt: S },
      ].filter((o) => inside(o.at)),
    },
    {
      customer: customers[2]!,
      orders: [
        // The history's first and last instants, and a campaign touch a minute before the snapshot converting a
        // minute after it: the touch is known from S, the conversion from the next day.
        { at: startMs },
        { at: endMs - SEC },
        { at: S + 60 * SEC, touchAt: S - 60 * SEC },
      ],
    },
    // Never orders.
    { customer: customers[3]!, orders: [] },
  ];
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
