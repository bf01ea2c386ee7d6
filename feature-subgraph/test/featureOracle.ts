// A second implementation of every feature view, for tests: each feature computed in plain TypeScript over the rows
// of the curated datasets, sharing no SQL and no helper with the views (subgraphs/<domain>/features/*.sql). Read
// together with those files, it is the specification of what each feature means.
import type { Platform } from '../../platform/index.js';
import { queryCurated } from '../../products/test/helpers.js';

const DAY = 86_400_000;

/** Curated rows as plain values: times in epoch milliseconds, money in cents, so that no rounding hides a mistake. */
export interface CuratedRows {
  customers: { id: string; signup: number | null }[];
  orders: { id: string; customer: string; placed: number; cancelled: number | null; totalEurCents: number }[];
  items: { order: string; product: string; quantity: number }[];
  returns: { order: string; product: string; quantity: number; returned: number }[];
  shipments: { order: string; delivered: number | null; late: boolean | null; delayHours: number | null }[];
  payments: { order: string; authorised: number | null; captured: number | null; failed: number | null }[];
  transactions: { order: string; type: string; processed: number; amountCents: number }[];
  touches: { customer: string; order: string | null; touched: number; converted: boolean }[];
  prices: { product: string; validFrom: number; price: number }[];
  /** The extraction time of the newest curated data: the last snapshot is its day. */
  asOf: number;
}

/** One feature row: join key, snapshot time and each feature's value. */
export type FeatureRow = { key: string; at: number; values: Record<string, number | null> };

const cents = (v: unknown) => (v === null || v === undefined ? 0 : Math.round(Number(v) * 100));
const ms = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export async function readCurated(platform: Platform, asOf: number): Promise<CuratedRows> {
  const q = <T extends Record<string, unknown>>(sql: string, tables: Parameters<typeof queryCurated>[2]) =>
    queryCurated<T>(platform, sql, tables);
  return {
    customers: (
      await q<{ id: string; signup: unknown }>(
        `SELECT customer_id AS id, epoch_ms(signup_date::TIMESTAMP) AS signup FROM c`,
        { c: ['sales', 'customers'] },
      )
    ).map((r) => ({ id: r.id, signup: ms(r.signup) })),
    orders: (
      await q<{ id: string; customer: string; placed: unknown; cancelled: unknown; total: unknown }>(
        `SELECT order_id AS id, customer_id AS customer, epoch_ms(placed_at) AS placed,
           epoch_ms(cancelled_at) AS cancelled, total_eur::VARCHAR AS total FROM o`,
        { o: ['sales', 'orders'] },
      )
    ).map((r) => ({
      id: r.id,
      customer: r.customer,
      placed: Number(r.placed),
      cancelled: ms(r.cancelled),
      totalEurCents: cents(r.total),
    })),
    items: (
      await q<{ order: string; product: string; quantity: unknown }>(
        `SELECT order_id AS order, product_id AS product, quantity FROM i`,
        { i: ['sales', 'order_items'] },
      )
    ).map((r) => ({ order: r.order, product: r.product, quantity: Number(r.quantity) })),
    returns: (
      await q<{ order: string; product: string; quantity: unknown; returned: unknown }>(
        `SELECT order_id AS order, product_id AS product, quantity, epoch_ms(returned_at) AS returned FROM r`,
        { r: ['sales', 'returns'] },
      )
    ).map((r) => ({ order: r.order, product: r.product, quantity: Number(r.quantity), returned: Number(r.returned) })),
    shipments: (
      await q<{ order: string; delivered: unknown; late: boolean | null; delay: unknown }>(
        `SELECT order_id AS order, epoch_ms(delivered_at) AS delivered, is_late AS late, delay_hours AS delay FROM s`,
        { s: ['fulfillment', 'shipments'] },
      )
    ).map((r) => ({ order: r.order, delivered: ms(r.delivered), late: r.late, delayHours: ms(r.delay) })),
    payments: (
      await q<{ order: string; a: unknown; c: unknown; f: unknown }>(
        `SELECT order_id AS order, epoch_ms(authorised_at) AS a, epoch_ms(captured_at) AS c,
           epoch_ms(failed_at) AS f FROM p`,
        { p: ['payments', 'payments'] },
      )
    ).map((r) => ({ order: r.order, authorised: ms(r.a), captured: ms(r.c), failed: ms(r.f) })),
    transactions: (
      await q<{ order: string; type: string; processed: unknown; amount: unknown }>(
        `SELECT order_id AS order, type, epoch_ms(processed_at) AS processed, amount::VARCHAR AS amount FROM t`,
        { t: ['payments', 'payment_transactions'] },
      )
    ).map((r) => ({ order: r.order, type: r.type, processed: Number(r.processed), amountCents: cents(r.amount) })),
    touches: (
      await q<{ customer: string; order: string | null; touched: unknown; converted: boolean }>(
        `SELECT customer_id AS customer, order_id AS order, epoch_ms(touched_at) AS touched, converted FROM t`,
        { t: ['campaigns', 'campaign_touches'] },
      )
    ).map((r) => ({ customer: r.customer, order: r.order, touched: Number(r.touched), converted: r.converted })),
    prices: (
      await q<{ product: string; validFrom: unknown; price: unknown }>(
        `SELECT product_id AS product, epoch_ms(valid_from) AS validFrom, price::VARCHAR AS price FROM p`,
        { p: ['catalog', 'product_prices'] },
      )
    ).map((r) => ({ product: r.product, validFrom: Number(r.validFrom), price: Number(r.price) })),
    asOf,
  };
}

/** Midnight UTC of the day a time falls in. */
const midnight = (t: number) => Math.floor(t / DAY) * DAY;
/** The day a fact becomes known to snapshots: the midnight after it. */
const knownFrom = (t: number) => midnight(t) + DAY;

/** Daily snapshots from the day after the earliest `times` to the day of the extraction, both included. */
function snapshots(times: (number | null)[], asOf: number): number[] {
  const known = times.filter((t): t is number => t !== null);
  if (known.length === 0) return [];
  const out: number[] = [];
  for (let d = knownFrom(Math.min(...known)); d <= midnight(asOf); d += DAY) out.push(d);
  return out;
}

/** Values keyed by entity and snapshot day. */
class Daily<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly empty: () => T) {}
  at(entity: string, day: number): T {
    const k = `${entity}\u0000${day}`;
    let v = this.map.get(k);
    if (v === undefined) this.map.set(k, (v = this.empty()));
    return v;
  }
  peek(entity: string, day: number): T | undefined {
    return this.map.get(`${entity}\u0000${day}`);
  }
}

/** The snapshot days of an entity, each day after it is known. */
function grid(entities: { id: string; from: number | null }[], days: number[]) {
  return entities.map((e) => ({ id: e.id, days: days.filter((d) => d > (e.from ?? 0)) }));
}

/** The sum of `pick` over the entity's own snapshot days in the `span` days ending at `day` (day included). */
function trailing(
  days: number[],
  day: number,
  span: number,
  pick: (d: number) => number | undefined,
): number | undefined {
  let total: number | undefined;
  for (const d of days)
    if (d > day - span * DAY && d <= day) {
      const v = pick(d);
      if (v !== undefined) total = (total ?? 0) + v;
    }
  return total;
}

const ratio = (num: number | undefined, den: number | undefined) =>
  num === undefined || den === undefined || den === 0 ? null : num / den;

/** A customer's buying over rolling windows (customer_orders.sql). */
export function customerOrders(r: CuratedRows): FeatureRow[] {
  const days = snapshots(
    r.orders.map((o) => o.placed),
    r.asOf,
  );
  const byCustomer = groupBy(r.orders, (o) => o.customer);
  const units = new Map<string, number>();
  for (const i of r.items) units.set(i.order, (units.get(i.order) ?? 0) + i.quantity);
  const orderOf = new Map(r.orders.map((o) => [o.id, o]));
  // Returned units, known from the day after the return.
  const returned = new Daily(() => ({ units: 0 }));
  for (const x of r.returns) {
    const o = orderOf.get(x.order);
    if (o) returned.at(o.customer, knownFrom(x.returned)).units += x.quantity;
  }
  const out: FeatureRow[] = [];
  for (const { id, days: own } of grid(
    r.customers.map((c) => ({ id: c.id, from: c.signup })),
    days,
  )) {
    const orders = byCustomer.get(id) ?? [];
    for (const day of own) {
      // Placed in the 90 days before the snapshot, and not cancelled before it.
      const held = orders.filter(
        (o) => o.placed < day && o.placed >= day - 90 * DAY && (o.cancelled === null || o.cancelled >= day),
      );
      const spend = held.reduce((s, o) => s + o.totalEurCents, 0);
      const bought = held.length ? held.reduce((s, o) => s + (units.get(o.id) ?? 0), 0) : undefined;
      const back = trailing(own, day, 90, (d) => returned.peek(id, d)?.units) ?? 0;
      // The last order placed before the snapshot, cancelled or not.
      const last = orders
        .filter((o) => knownFrom(o.placed) <= day && own.includes(knownFrom(o.placed)))
        .reduce<number | null>((m, o) => (m === null || o.placed > m ? o.placed : m), null);
      out.push({
        key: id,
        at: day,
        values: {
          total_purchases_30d: held.filter((o) => o.placed >= day - 30 * DAY).length,
          num_transactions_7d: held.filter((o) => o.placed >= day - 7 * DAY).length,
          avg_order_value_90d: held.length ? spend / 100 / held.length : null,
          total_spend_90d: spend / 100,
          return_rate_90d: Math.min(ratio(back, bought) ?? 0, 1),
          days_since_last_order: last === null ? null : (day - midnight(last)) / DAY,
        },
      });
    }
  }
  return out;
}

/** A customer's deliveries over rolling windows (customer_delivery.sql). */
export function customerDelivery(r: CuratedRows): FeatureRow[] {
  const delivered = r.shipments.filter((s) => s.delivered !== null);
  const days = snapshots(
    delivered.map((s) => s.delivered),
    r.asOf,
  );
  const customerOf = new Map(r.orders.map((o) => [o.id, o.customer]));
  const daily = new Daily(() => ({ deliveries: 0, late: 0, delay: undefined as number | undefined }));
  for (const s of delivered) {
    const c = customerOf.get(s.order);
    if (c === undefined) continue;
    const d = daily.at(c, knownFrom(s.delivered!));
    d.deliveries++;
    if (s.late) d.late++;
    if (s.delayHours !== null) d.delay = (d.delay ?? 0) + s.delayHours;
  }
  const out: FeatureRow[] = [];
  for (const { id, days: own } of grid(
    r.customers.map((c) => ({ id: c.id, from: c.signup })),
    days,
  ))
    for (const day of own) {
      const sum = (span: number, f: (x: { deliveries: number; late: number; delay?: number }) => number | undefined) =>
        trailing(own, day, span, (d) => {
          const x = daily.peek(id, d);
          return x ? f(x) : undefined;
        });
      const deliveries90 = sum(90, (x) => x.deliveries) ?? 0;
      out.push({
        key: id,
        at: day,
        values: {
          deliveries_90d: deliveries90,
          late_deliveries_30d: sum(30, (x) => x.late) ?? 0,
          late_delivery_rate_90d: ratio(sum(90, (x) => x.late) ?? 0, deliveries90) ?? 0,
          avg_delay_hours_90d: ratio(
            sum(90, (x) => x.delay),
            deliveries90,
          ),
        },
      });
    }
  return out;
}

/** A customer's payments, failures and refunds over rolling windows (customer_payments.sql). */
export function customerPayments(r: CuratedRows): FeatureRow[] {
  const customerOf = new Map(r.orders.map((o) => [o.id, o.customer]));
  // A payment is seen at its first moment: authorised, captured or failed, whichever came first.
  const known = r.payments
    .filter((p) => customerOf.has(p.order))
    .map((p) => {
      const moments = [p.authorised, p.captured, p.failed].filter((t): t is number => t !== null);
      return {
        customer: customerOf.get(p.order)!,
        seen: moments.length ? Math.min(...moments) : null,
        failed: p.failed,
      };
    });
  const days = snapshots(
    known.map((k) => k.seen),
    r.asOf,
  );
  const daily = new Daily(() => ({ payments: 0, failed: 0, refundedCents: 0 }));
  for (const k of known) {
    if (k.seen !== null) daily.at(k.customer, knownFrom(k.seen)).payments++;
    if (k.failed !== null) daily.at(k.customer, knownFrom(k.failed)).failed++;
  }
  for (const t of r.transactions)
    if (t.type === 'refunded' && customerOf.has(t.order))
      daily.at(customerOf.get(t.order)!, knownFrom(t.processed)).refundedCents += t.amountCents;
  const out: FeatureRow[] = [];
  for (const { id, days: own } of grid(
    r.customers.map((c) => ({ id: c.id, from: c.signup })),
    days,
  ))
    for (const day of own) {
      const sum = (span: number, f: (x: { payments: number; failed: number; refundedCents: number }) => number) =>
        trailing(own, day, span, (d) => {
          const x = daily.peek(id, d);
          return x ? f(x) : undefined;
        }) ?? 0;
      out.push({
        key: id,
        at: day,
        values: {
          payments_90d: sum(90, (x) => x.payments),
          failed_payments_30d: sum(30, (x) => x.failed),
          failed_payment_rate_90d:
            ratio(
              sum(90, (x) => x.failed),
              sum(90, (x) => x.payments),
            ) ?? 0,
          refunded_amount_90d: sum(90, (x) => x.refundedCents) / 100,
        },
      });
    }
  return out;
}

/** A customer's campaign touches and conversions (customer_campaigns.sql). */
export function customerCampaigns(r: CuratedRows): FeatureRow[] {
  const days = snapshots(
    r.touches.map((t) => t.touched),
    r.asOf,
  );
  const orderOf = new Map(r.orders.map((o) => [o.id, o]));
  const daily = new Daily(() => ({ touches: 0, conversions: 0, last: null as number | null }));
  for (const t of r.touches) {
    const d = daily.at(t.customer, knownFrom(t.touched));
    d.touches++;
    d.last = d.last === null ? t.touched : Math.max(d.last, t.touched);
  }
  // A conversion counts when its order is placed, not when the touch happened.
  for (const t of r.touches) {
    const o = t.converted && t.order ? orderOf.get(t.order) : undefined;
    if (o) daily.at(t.customer, knownFrom(o.placed)).conversions++;
  }
  const out: FeatureRow[] = [];
  for (const { id, days: own } of grid(
    r.customers.map((c) => ({ id: c.id, from: c.signup })),
    days,
  ))
    for (const day of own) {
      const sum = (span: number, f: (x: { touches: number; conversions: number }) => number) =>
        trailing(own, day, span, (d) => {
          const x = daily.peek(id, d);
          return x ? f(x) : undefined;
        }) ?? 0;
      let last: number | null = null;
      for (const d of own) {
        const l = d <= day ? daily.peek(id, d)?.last : undefined;
        if (l !== undefined && l !== null && (last === null || l > last)) last = l;
      }
      out.push({
        key: id,
        at: day,
        values: {
          touches_30d: sum(30, (x) => x.touches),
          conversions_30d: sum(30, (x) => x.conversions),
          conversion_rate_90d:
            ratio(
              sum(90, (x) => x.conversions),
              sum(90, (x) => x.touches),
            ) ?? 0,
          days_since_last_touch: last === null ? null : (day - midnight(last)) / DAY,
        },
      });
    }
  return out;
}

/** A product's price and its change from the price before (product_pricing.sql). */
export function productPricing(r: CuratedRows): FeatureRow[] {
  const out: FeatureRow[] = [];
  for (const [product, prices] of groupBy(r.prices, (p) => p.product)) {
    const sorted = [...prices].sort((a, b) => a.validFrom - b.validFrom);
    sorted.forEach((p, i) => {
      const before = sorted[i - 1]?.price;
      const change = before === undefined || before === 0 ? null : roundHalfAway(100 * (p.price / before - 1), 2);
      out.push({ key: product, at: p.validFrom, values: { price: p.price, price_change_pct: change ?? 0 } });
    });
  }
  return out;
}

/** A product's units sold and returned over rolling windows, from its first order (product_returns.sql). */
export function productReturns(r: CuratedRows): FeatureRow[] {
  const days = snapshots(
    r.orders.map((o) => o.placed),
    r.asOf,
  );
  const orderOf = new Map(r.orders.map((o) => [o.id, o]));
  const lines = r.items.flatMap((i) => {
    const o = orderOf.get(i.order);
    return o ? [{ ...i, placed: o.placed, cancelled: o.cancelled }] : [];
  });
  const first = new Map<string, number>();
  for (const l of lines) first.set(l.product, Math.min(first.get(l.product) ?? Infinity, knownFrom(l.placed)));
  const returned = new Daily(() => ({ units: 0 }));
  for (const x of r.returns) returned.at(x.product, knownFrom(x.returned)).units += x.quantity;
  const byProduct = groupBy(lines, (l) => l.product);
  const out: FeatureRow[] = [];
  for (const { id, days: own } of [...first].map(([id, from]) => ({ id, days: days.filter((d) => d >= from) })))
    for (const day of own) {
      const held = (byProduct.get(id) ?? []).filter(
        (l) => l.placed < day && l.placed >= day - 90 * DAY && (l.cancelled === null || l.cancelled >= day),
      );
      const units90 = held.length ? held.reduce((s, l) => s + l.quantity, 0) : undefined;
      const recent = held.filter((l) => l.placed >= day - 30 * DAY);
      const back = trailing(own, day, 90, (d) => returned.peek(id, d)?.units) ?? 0;
      out.push({
        key: id,
        at: day,
        values: {
          units_sold_30d: recent.reduce((s, l) => s + l.quantity, 0),
          return_rate_90d: Math.min(ratio(back, units90) ?? 0, 1),
        },
      });
    }
  return out;
}

/** A customer's orders of the last hour and day, at each instant one was placed (customer_recent_orders.sql). */
export function customerRecentOrders(r: CuratedRows): FeatureRow[] {
  const out: FeatureRow[] = [];
  for (const [customer, orders] of groupBy(r.orders, (o) => o.customer))
    for (const at of new Set(orders.map((o) => o.placed))) {
      // Of the orders placed at this instant, the one with the greatest id is "the order placed".
      const placed = orders.filter((o) => o.placed === at).reduce((a, b) => (b.id > a.id ? b : a));
      const within = (span: number) => orders.filter((o) => o.placed >= at - span && o.placed <= at).length;
      out.push({
        key: customer,
        at,
        values: {
          orders_1h: within(3_600_000),
          orders_24h: within(DAY),
          last_order_total_eur: placed.totalEurCents / 100,
        },
      });
    }
  return out;
}

/** Every view's second implementation, by view name. */
export const ORACLE: Record<string, (r: CuratedRows) => FeatureRow[]> = {
  customer_orders: customerOrders,
  customer_recent_orders: customerRecentOrders,
  customer_delivery: customerDelivery,
  customer_payments: customerPayments,
  customer_campaigns: customerCampaigns,
  product_pricing: productPricing,
  product_returns: productReturns,
};

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
}

/** Rounding to `digits` decimals, half away from zero. */
function roundHalfAway(x: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}
