import { Rng, WeightedIndex } from './rng.js';
import { CARRIERS, CHANNEL_CONVERSION, PROCESSORS, pad, type Campaign, type Customer, type Product } from './world.js';
import type { FileSink } from './sinks.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;

export interface Sinks {
  orders: FileSink;
  customers: FileSink;
  returns: FileSink;
  products: FileSink;
  carrier: FileSink;
  settlements: FileSink;
  campaigns: FileSink;
  touches: FileSink;
}

/**
 * An order whose moments are set, not drawn: placed at `at`, authorised at `paidAt`, and then cancelled (and refunded)
 * at `cancelAt`, or delivered at `deliveredAt` and its first line returned (and refunded) at `returnAt`. Each defaults
 * to a moment after the one before it.
 */
export interface ForcedOrder {
  at: number;
  paidAt?: number;
  cancelAt?: number;
  deliveredAt?: number;
  returnAt?: number;
  refundAt?: number;
  /** A converted campaign touch at this moment leads to the order (when a campaign runs then). */
  touchAt?: number;
}

/** Orders a customer places on purpose, outside the random history: the boundary cases of the feature tests. */
export interface EdgePlan {
  customer: Customer;
  orders: ForcedOrder[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const money = (x: number) => Math.round(x * 100) / 100;

/**
 * The marketplace, one day at a time. Causality the data carries on purpose:
 * late deliveries and failed payments depress a customer's buying for weeks (decaying penalty),
 * late deliveries raise returns, carriers differ in lateness, and campaign touches convert into attributed orders.
 */
export class Marketplace {
  private readonly popularity: WeightedIndex;
  private lastSnapshotDay = -1;
  private seq = { order: 0, event: 0, payment: 0, txn: 0, shipment: 0, carrierEvent: 0, ret: 0, touch: 0 };
  private readonly changedCustomers = new Map<number, number>();

  constructor(
    private readonly rng: Rng,
    private readonly startMs: number,
    private readonly days: number,
    private readonly customers: Customer[],
    private readonly products: Product[],
    private readonly campaignList: Campaign[],
    private readonly sinks: Sinks,
    private readonly edges: EdgePlan[] = [],
  ) {
    this.popularity = new WeightedIndex(products.map((p) => p.popularity));
  }

  simulateDay(d: number): void {
    const dayStart = this.startMs + d * DAY;
    if (d % 7 === 0) this.catalogSnapshot(d, dayStart);
    for (const c of this.campaignList) {
      if (Math.max(0, c.startDay - 3) === d) this.emitCampaign(c, dayStart);
    }
    if (d === 0) {
      this.customers.forEach(
        (c, i) => c.signupDay < 0 && this.changedCustomers.set(i, dayStart - this.rng.int(1, 30) * DAY),
      );
    }
    const active = this.campaignList.filter((c) => c.startDay <= d && d <= c.endDay);
    const weekend = new Date(dayStart).getUTCDay() % 6 === 0 ? 1.25 : 1;
    for (const edge of this.edges)
      for (const order of edge.orders)
        if (Math.floor((order.touchAt ?? order.at) / DAY) === Math.floor(dayStart / DAY))
          this.forced(edge.customer, order);
    const edgeCustomers = new Set(this.edges.map((e) => e.customer));
    for (let i = 0; i < this.customers.length; i++) {
      const cust = this.customers[i]!;
      if (cust.signupDay > d || edgeCustomers.has(cust)) continue;
      if (cust.signupDay === d) this.changedCustomers.set(i, dayStart + this.rng.int(0, DAY - 1));
      else if (this.rng.chance(0.0008)) this.updateCustomer(i, dayStart);
      const penalty = this.penalty(cust, d);
      if (active.length > 0 && this.rng.chance(0.035)) this.touch(cust, this.rng.pick(active), dayStart, penalty);
      if (this.rng.chance(cust.baseRate * weekend * Math.exp(-1.3 * penalty))) {
        this.placeOrder(cust, dayStart + this.rng.int(6 * HOUR, 23 * HOUR), null);
      }
    }
    if (d % 7 === 6 || d === this.days - 1) this.exportCustomers(dayStart + 23 * HOUR);
  }

  private penalty(c: Customer, d: number): number {
    let p = 0;
    for (const b of c.bad) if (b.day <= d) p += b.weight * Math.exp(-(d - b.day) / 30);
    return p;
  }

  private catalogSnapshot(d: number, dayStart: number): void {
    if (d > 0) {
      for (const p of this.products) {
        if (this.rng.chance(0.1)) p.price = money(Math.max(1, p.price * (1 + this.rng.normal(0, 0.12))));
      }
    }
    this.lastSnapshotDay = d;
    const snapshotAt = iso(dayStart + 2 * HOUR);
    for (const p of this.products) {
      if (p.launchDay > d) continue;
      this.sinks.products.emit(
        {
          product_id: p.id,
          sku: p.sku,
          name: p.name,
          category: p.category,
          brand: p.brand,
          price: p.price,
          currency: 'EUR',
          active: true,
          snapshot_at: snapshotAt,
        },
        dayStart + 2 * HOUR,
      );
    }
  }

  private emitCampaign(c: Campaign, dayStart: number): void {
    const date = (day: number) => iso(this.startMs + day * DAY).slice(0, 10);
    this.sinks.campaigns.emit(
      {
        campaign_id: c.id,
        name: c.name,
        channel: c.channel,
        start_date: date(c.startDay),
        end_date: date(c.endDay),
        budget_eur: c.budget,
        target_segment: c.segment,
      },
      dayStart + HOUR,
    );
  }

  private updateCustomer(i: number, dayStart: number): void {
    const c = this.customers[i]!;
    if (this.rng.chance(0.5)) c.phone = `${c.phone.slice(0, -4)}${pad(this.rng.int(0, 9999), 4)}`;
    else c.email = c.email.replace('@', `.${this.rng.int(1, 99)}@`);
    this.changedCustomers.set(i, dayStart + this.rng.int(0, DAY - 1));
  }

  private exportCustomers(atMs: number): void {
    for (const [i, updatedMs] of [...this.changedCustomers].sort((a, b) => a[0] - b[0])) {
      const c = this.customers[i]!;
      this.sinks.customers.emit(
        {
          customer_id: c.id,
          name: c.name,
          email: c.email,
          phone: c.phone,
          country: c.country.code,
          segment: c.segment,
          signup_date: iso(this.startMs + c.signupDay * DAY).slice(0, 10),
          updated_at: iso(updatedMs),
        },
        atMs,
      );
    }
    this.changedCustomers.clear();
  }

  private touch(cust: Customer, campaign: Campaign, dayStart: number, penalty: number): void {
    if (campaign.segment !== 'all' && campaign.segment !== cust.segment) return;
    const at = dayStart + this.rng.int(7 * HOUR, 21 * HOUR);
    const converted = this.rng.chance(CHANNEL_CONVERSION[campaign.channel] * Math.exp(-0.8 * penalty));
    const orderId = converted ? this.placeOrder(cust, at + this.rng.int(2 * MIN, 90 * MIN), campaign) : null;
    this.sinks.touches.emit(
      {
        touch_id: `t-${pad(++this.seq.touch, 9)}`,
        campaign_id: campaign.id,
        customer_id: cust.id,
        channel: campaign.channel,
        touched_at: iso(at),
        converted,
        order_id: orderId,
      },
      at,
    );
  }

  /** An order whose moments are set (and the converted touch before it, when a campaign runs at that moment). */
  private forced(cust: Customer, order: ForcedOrder): void {
    if (order.touchAt === undefined) return void this.placeOrder(cust, order.at, null, order);
    const day = Math.floor((order.touchAt - this.startMs) / DAY);
    const campaign = this.campaignList.find((c) => c.startDay <= day && day <= c.endDay && c.segment !== 'vip');
    if (!campaign) return void this.placeOrder(cust, order.at, null, order);
    const orderId = this.placeOrder(cust, order.at, campaign, order);
    this.sinks.touches.emit(
      {
        touch_id: `t-${pad(++this.seq.touch, 9)}`,
        campaign_id: campaign.id,
        customer_id: cust.id,
        channel: campaign.channel,
        touched_at: iso(order.touchAt),
        converted: true,
        order_id: orderId,
      },
      order.touchAt,
    );
  }

  private pickProduct(): Product {
    for (;;) {
      const p = this.products[this.popularity.pick(this.rng)]!;
      if (p.launchDay <= this.lastSnapshotDay) return p;
    }
  }

  private placeOrder(cust: Customer, t: number, campaign: Campaign | null, force?: ForcedOrder): string {
    const rng = this.rng;
    const orderId = `o-${pad(++this.seq.order, 9)}`;
    const lines = 1 + (rng.chance(0.4) ? 1 : 0) + (rng.chance(0.15) ? 1 : 0);
    const items = Array.from({ length: lines }, () => {
      const p = this.pickProduct();
      return {
        product_id: p.id,
        quantity: rng.weighted([1, 2, 3], [0.75, 0.18, 0.07]),
        unit_price: money(p.price * cust.country.fx),
        product: p,
      };
    });
    const total = money(items.reduce((s, it) => s + it.quantity * it.unit_price, 0));
    const currency = cust.country.currency;
    const orderEvent = (type: string, at: number, extra: Record<string, unknown> = {}) =>
      this.sinks.orders.emit(
        {
          event_id: `oe-${pad(++this.seq.event, 10)}`,
          event_type: type,
          order_id: orderId,
          customer_id: cust.id,
          occurred_at: iso(at),
          ...extra,
        },
        at,
        orderId,
      );
    orderEvent('order_created', t, {
      channel: rng.pick(['web', 'app', 'app', 'web', 'marketplace']),
      currency,
      total,
      campaign_id: campaign?.id ?? null,
      items: items.map(({ product_id, quantity, unit_price }) => ({ product_id, quantity, unit_price })),
    });

    const method = rng.weighted(['card', 'paypal', 'bank_transfer'] as const, [0.7, 0.2, 0.1]);
    const processor = rng.weighted(PROCESSORS, [0.6, 0.4]);
    const last4 = method === 'card' ? pad(rng.int(0, 9999), 4) : null;
    const txn = (paymentId: string, type: string, at: number, amount: number, failure: string | null = null) =>
      this.sinks.settlements.emit(
        {
          transaction_id: `tx-${pad(++this.seq.txn, 10)}`,
          payment_id: paymentId,
          order_id: orderId,
          processor,
          type,
          amount,
          currency,
          method,
          card_last4: last4,
          processed_at: iso(at),
          failure_code: failure,
        },
        at,
      );
    const failRate = method === 'card' ? cust.cardRisk : 0.02;
    let at = force ? (force.paidAt ?? t + 60_000) : t + rng.int(20_000, 120_000);
    let paymentId = `pay-${pad(++this.seq.payment, 9)}`;
    if (!force && rng.chance(failRate)) {
      txn(paymentId, 'failed', at, total, rng.pick(['card_declined', 'insufficient_funds', 'expired_card']));
      cust.bad.push({ day: Math.floor((at - this.startMs) / DAY), weight: 0.8 });
      if (!rng.chance(0.55)) {
        orderEvent('order_cancelled', at + 2 * HOUR, { reason: 'payment_failed' });
        return orderId;
      }
      at += rng.int(10 * MIN, 40 * MIN);
      paymentId = `pay-${pad(++this.seq.payment, 9)}`;
    }
    txn(paymentId, 'authorised', at, total);
    const capturedAt = force ? at : at + rng.int(HOUR, 6 * HOUR);
    txn(paymentId, 'captured', capturedAt, total);
    orderEvent('order_paid', capturedAt, { payment_id: paymentId });
    if (force?.cancelAt !== undefined || (!force && rng.chance(0.03))) {
      const cancelAt = force?.cancelAt ?? capturedAt + rng.int(HOUR, 5 * HOUR);
      orderEvent('order_cancelled', cancelAt, { reason: 'customer_request' });
      txn(paymentId, 'refunded', force?.refundAt ?? cancelAt + rng.int(HOUR, 20 * HOUR), total);
      return orderId;
    }

    const carrier = rng.weighted(CARRIERS, cust.segment === 'consumer' ? [0.4, 0.3, 0.3] : [0.55, 0.35, 0.1]);
    const shipmentId = `s-${pad(++this.seq.shipment, 9)}`;
    const labelAt = force ? capturedAt + HOUR : capturedAt + rng.int(2 * HOUR, 10 * HOUR);
    const promisedMs = Date.UTC(
      new Date(labelAt).getUTCFullYear(),
      new Date(labelAt).getUTCMonth(),
      new Date(labelAt).getUTCDate() + carrier.promisedDays,
      20,
    );
    const pickedAt = force ? labelAt + HOUR : labelAt + rng.int(6 * HOUR, 20 * HOUR);
    const late = rng.chance(carrier.lateRate * (cust.country.code === 'US' ? 1.3 : 1));
    const deliveredAt = force
      ? (force.deliveredAt ?? pickedAt + 2 * DAY)
      : late
        ? promisedMs + 2 * HOUR + Math.round(rng.exp(30 * HOUR))
        : Math.max(pickedAt + 12 * HOUR, promisedMs - rng.int(0, Math.round(carrier.promisedDays * 0.8 * DAY)));
    const track = (status: string, when: number, extra: Record<string, unknown> = {}) =>
      this.sinks.carrier.emit(
        {
          event_id: `ce-${pad(++this.seq.carrierEvent, 10)}`,
          shipment_id: shipmentId,
          order_id: orderId,
          carrier: carrier.name,
          status,
          event_time: iso(when),
          promised_date: iso(promisedMs).slice(0, 10),
          location: `${cust.city}, ${cust.country.code}`,
          ...extra,
        },
        when,
      );
    track('label_created', labelAt, {
      recipient: {
        name: cust.name,
        address_line: cust.address,
        city: cust.city,
        postal_code: cust.postalCode,
        country: cust.country.code,
      },
    });
    track('picked_up', pickedAt);
    track('in_transit', force ? pickedAt + HOUR : pickedAt + rng.int(4 * HOUR, 12 * HOUR));
    if (!force && late && rng.chance(0.5))
      track('exception', promisedMs - rng.int(HOUR, 10 * HOUR), { detail: 'delayed at hub' });
    track('out_for_delivery', force ? deliveredAt - HOUR : deliveredAt - rng.int(HOUR, 5 * HOUR));
    track('delivered', deliveredAt);
    if (late) {
      const delayH = (deliveredAt - promisedMs) / HOUR;
      cust.bad.push({ day: Math.floor((deliveredAt - this.startMs) / DAY), weight: 1 + Math.min(delayH, 96) / 48 });
    }

    const returned = force
      ? force.returnAt !== undefined
        ? items[0]
        : undefined
      : items.find((it) => rng.chance(it.product.returnRate * (late ? 1.8 : 1)));
    if (returned) {
      const returnedAt = force?.returnAt ?? deliveredAt + rng.int(3 * DAY, 20 * DAY);
      const refund = money(returned.unit_price * returned.quantity);
      this.sinks.returns.emit(
        {
          return_id: `r-${pad(++this.seq.ret, 8)}`,
          order_id: orderId,
          product_id: returned.product_id,
          quantity: returned.quantity,
          reason: rng.pick(
            late
              ? ['arrived_late', 'arrived_late', 'damaged', 'not_as_described']
              : ['wrong_size', 'damaged', 'not_as_described', 'changed_mind'],
          ),
          returned_at: iso(returnedAt),
          refund_amount: refund,
          currency,
        },
        returnedAt,
      );
      txn(paymentId, 'refunded', force?.refundAt ?? returnedAt + rng.int(HOUR, DAY), refund);
    }
    return orderId;
  }
}
