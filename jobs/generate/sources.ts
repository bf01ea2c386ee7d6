import type { Rng } from './rng.js';
import type { SinkSpec } from './sinks.js';
import { rawPrefix } from '../../products/index.js';

/** The raw sources the five domains receive, in the shapes their teams would really get. */

const ymd = (date: string) => date.replace(/-/g, '');

export const ORDER_EVENTS: SinkSpec = {
  domain: 'sales',
  source: 'order_events',
  format: 'jsonl',
  requiredFields: ['event_id', 'order_id', 'customer_id', 'occurred_at', 'event_type'],
  outOfRange: (r, rng: Rng) => {
    if (Array.isArray(r.items) && r.items.length > 0)
      (r.items as Record<string, unknown>[])[0]!.quantity = -rng.int(1, 3);
    else r.occurred_at = '1970-01-01T00:00:00.000Z';
  },
};

export const CUSTOMERS: SinkSpec = {
  domain: 'sales',
  source: 'customers',
  format: 'csv',
  columns: ['customer_id', 'name', 'email', 'phone', 'country', 'segment', 'signup_date', 'updated_at'],
  requiredFields: ['customer_id', 'country', 'updated_at'],
  outOfRange: (r) => {
    r.email = String(r.email).replace('@', ' at ');
  },
  fileKey: (date) => `${rawPrefix('sales')}crm/customers/export_date=${date}/customers.csv`,
};

export const RETURNS: SinkSpec = {
  domain: 'sales',
  source: 'returns',
  format: 'csv',
  columns: ['return_id', 'order_id', 'product_id', 'quantity', 'reason', 'returned_at', 'refund_amount', 'currency'],
  requiredFields: ['return_id', 'order_id', 'product_id', 'returned_at'],
  outOfRange: (r) => {
    r.quantity = 0;
  },
  fileKey: (date) => `${rawPrefix('sales')}returns/returns_${ymd(date)}.csv`,
};

export const PRODUCT_FEED: SinkSpec = {
  domain: 'catalog',
  source: 'product_feed',
  format: 'jsonl',
  requiredFields: ['product_id', 'name', 'category', 'price', 'snapshot_at'],
  outOfRange: (r) => {
    r.price = -Math.abs(Number(r.price));
  },
  fileKey: (date) => `${rawPrefix('catalog')}product_feed/snapshot_date=${date}/products.jsonl`,
};

export const CARRIER_EVENTS: SinkSpec = {
  domain: 'fulfillment',
  source: 'carrier_events',
  format: 'jsonl',
  requiredFields: ['event_id', 'shipment_id', 'order_id', 'status', 'event_time', 'carrier'],
  outOfRange: (r) => {
    r.event_time = '1970-01-01T00:00:00.000Z';
  },
  fileKey: (date, r) =>
    `${rawPrefix('fulfillment')}carrier_events/carrier=${String(r.carrier)}/date=${date}/events.jsonl`,
};

export const SETTLEMENTS: SinkSpec = {
  domain: 'payments',
  source: 'settlements',
  format: 'csv',
  columns: [
    'transaction_id',
    'payment_id',
    'order_id',
    'processor',
    'type',
    'amount',
    'currency',
    'method',
    'card_last4',
    'processed_at',
    'failure_code',
  ],
  requiredFields: ['transaction_id', 'payment_id', 'order_id', 'type', 'amount', 'processed_at'],
  outOfRange: (r) => {
    r.amount = -Math.abs(Number(r.amount));
  },
  fileKey: (date, r) =>
    `${rawPrefix('payments')}settlements/processor=${String(r.processor)}/settlement_${ymd(date)}.csv`,
};

export const CAMPAIGN_DEFINITIONS: SinkSpec = {
  domain: 'campaigns',
  source: 'campaign_definitions',
  format: 'jsonl',
  requiredFields: ['campaign_id', 'name', 'channel', 'start_date', 'end_date'],
  outOfRange: (r) => {
    r.budget_eur = -Math.abs(Number(r.budget_eur));
  },
  fileKey: (date) => `${rawPrefix('campaigns')}definitions/date=${date}/campaigns.jsonl`,
};

export const TOUCHES: SinkSpec = {
  domain: 'campaigns',
  source: 'touches',
  format: 'jsonl',
  requiredFields: ['touch_id', 'campaign_id', 'customer_id', 'touched_at'],
  outOfRange: (r) => {
    r.touched_at = '1970-01-01T00:00:00.000Z';
  },
  fileKey: (date) => `${rawPrefix('campaigns')}touches/date=${date}/touches.jsonl`,
};
