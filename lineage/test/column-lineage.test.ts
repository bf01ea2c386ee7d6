import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '../../platform/duckdb.js';
import { listDomains } from '../../platform/domains.js';
import { REPO_ROOT } from '../../platform/config.js';
import { copyDomains } from '../../platform/test/helpers.js';
import { meshColumnLineage, type MeshColumnLineage } from '../columnLineage.js';

/**
 * The column lineage of the mesh's SQL against a table written by hand from the SQL files: each column's own edges
 * (`source.field SUBTYPE`, `I SUBTYPE` for INDIRECT), edge for edge, and the edges every column of a dataset has.
 * Curated columns reach raw fields of their domain's sources; feature columns reach curated columns.
 */
const CURATED: Record<string, string[]> = {
  // fulfillment/pipeline/shipments.sql: one row per shipment from its carrier events.
  'fulfillment.shipments.shipment_id': ['carrier_events.shipment_id IDENTITY'],
  'fulfillment.shipments.order_id': ['carrier_events.order_id AGGREGATION', 'carrier_events.event_time I SORT'],
  'fulfillment.shipments.status': ['carrier_events.status AGGREGATION', 'carrier_events.event_time I SORT'],
  'fulfillment.shipments.label_created_at': ['carrier_events.event_time AGGREGATION'],
  'fulfillment.shipments.promised_at': ['carrier_events.promised_date AGGREGATION'],
  'fulfillment.shipments.delivered_at': ['carrier_events.event_time AGGREGATION'],
  // Computed from max(promised_date) and min(event_time) per shipment: aggregations of both.
  'fulfillment.shipments.delay_hours': [
    'carrier_events.promised_date AGGREGATION',
    'carrier_events.event_time AGGREGATION',
  ],
  'fulfillment.shipments.is_late': [
    'carrier_events.promised_date AGGREGATION',
    'carrier_events.event_time AGGREGATION',
  ],
  'fulfillment.shipments.recipient_name': [
    'carrier_events.recipient.name AGGREGATION',
    'carrier_events.event_time I SORT',
  ],
  'fulfillment.shipments.address_line': [
    'carrier_events.recipient.address_line AGGREGATION',
    'carrier_events.event_time I SORT',
  ],
  'fulfillment.tracking_events.event_time': ['carrier_events.event_time TRANSFORMATION'],
  'fulfillment.tracking_events.status': ['carrier_events.status IDENTITY'],
  // sales/pipeline/orders.sql: the order_created event, then paid and cancelled events per order, and the fx rates.
  'sales.orders.placed_at': ['order_events.occurred_at TRANSFORMATION'],
  'sales.orders.status': ['order_events.occurred_at I CONDITIONAL', 'order_events.order_id I GROUP_BY'],
  'sales.orders.total_eur': ['order_events.total TRANSFORMATION'],
  'sales.orders.item_count': ['order_events.items TRANSFORMATION'],
  'sales.orders.paid_at': ['order_events.occurred_at AGGREGATION', 'order_events.order_id I GROUP_BY'],
  'sales.orders.cancel_reason': [
    'order_events.reason AGGREGATION',
    'order_events.occurred_at I SORT',
    'order_events.order_id I GROUP_BY',
  ],
  'sales.order_items.product_id': ['order_events.items.product_id TRANSFORMATION'],
  'sales.order_items.line_no': ['order_events.items TRANSFORMATION'],
  'sales.order_items.line_total': [
    'order_events.items.quantity TRANSFORMATION',
    'order_events.items.unit_price TRANSFORMATION',
  ],
  'sales.customers.email': ['customers.email TRANSFORMATION'],
  'sales.customers.name': ['customers.name TRANSFORMATION'],
  'sales.customers.country': ['customers.country TRANSFORMATION'],
  'sales.customers.segment': ['customers.segment IDENTITY'],
  'catalog.products.first_seen_at': ['product_feed.snapshot_at AGGREGATION', 'product_feed.product_id I WINDOW'],
  'catalog.products.updated_at': ['product_feed.snapshot_at TRANSFORMATION'],
  'catalog.products.price': ['product_feed.price TRANSFORMATION'],
  'catalog.product_prices.valid_to': ['product_feed.snapshot_at TRANSFORMATION'],
  'catalog.product_prices.price': ['product_feed.price TRANSFORMATION'],
  'payments.payments.status': ['settlements.amount I CONDITIONAL', 'settlements.processed_at I CONDITIONAL'],
  'payments.payments.amount': ['settlements.amount AGGREGATION'],
  'payments.payments.refunded_amount': ['settlements.amount AGGREGATION'],
  'payments.payments.card_last4': ['settlements.card_last4 AGGREGATION', 'settlements.processed_at I SORT'],
  'payments.payment_transactions.amount': ['settlements.amount TRANSFORMATION'],
  'campaigns.campaign_touches.converted': ['touches.converted TRANSFORMATION'],
  'campaigns.campaign_touches.touched_at': ['touches.touched_at TRANSFORMATION'],
  'campaigns.campaigns.budget_eur': ['campaign_definitions.budget_eur TRANSFORMATION'],
};

/** What decides every row of a dataset: the stage's quarantine reasons and key, and the dataset's own SQL. */
const CURATED_ROWS: Record<string, string[]> = {
  'fulfillment.shipments': [
    ...['event_id', 'shipment_id', 'order_id', 'carrier', 'status', 'event_time'].map(
      (f) => `carrier_events.${f} I FILTER`,
    ),
    'carrier_events.shipment_id I GROUP_BY',
  ],
  'sales.orders': [
    ...['event_id', 'order_id', 'customer_id', 'event_type', 'occurred_at', 'items', 'items.quantity'].map(
      (f) => `order_events.${f} I FILTER`,
    ),
    ...['items.unit_price', 'total', 'currency'].map((f) => `order_events.${f} I FILTER`),
    'order_events.order_id I JOIN',
    'order_events.currency I JOIN',
  ],
  'sales.customers': ['customer_id', 'country', 'updated_at', 'email', 'segment'].map((f) => `customers.${f} I FILTER`),
  'catalog.product_prices': [
    ...['product_id', 'name', 'category', 'snapshot_at', 'price'].map((f) => `product_feed.${f} I FILTER`),
    'product_feed.product_id I WINDOW',
    'product_feed.snapshot_at I WINDOW',
  ],
};

const FEATURES: Record<string, string[]> = {
  // sales/features/customer_orders.sql: a grid of customers x days, the orders each day held, and the windows.
  'customer_orders.customer_id': ['sales.customers.customer_id IDENTITY'],
  // The days start the day after the first order: (SELECT min(placed_at) FROM sales.orders).
  'customer_orders.event_timestamp': ['sales.orders.placed_at AGGREGATION'],
  'customer_orders.total_spend_90d': [
    'sales.orders.total_eur AGGREGATION',
    'sales.orders.cancelled_at I FILTER',
    'sales.customers.customer_id I GROUP_BY',
    'sales.orders.placed_at I GROUP_BY',
  ],
  'customer_orders.avg_order_value_90d': [
    'sales.orders.total_eur AGGREGATION',
    'sales.orders.cancelled_at I FILTER',
    'sales.customers.customer_id I GROUP_BY',
    'sales.orders.placed_at I GROUP_BY',
  ],
  'customer_orders.total_purchases_30d': [
    'sales.orders.cancelled_at I FILTER',
    'sales.customers.customer_id I GROUP_BY',
    'sales.orders.placed_at I GROUP_BY',
  ],
  'customer_orders.days_since_last_order': [
    'sales.orders.placed_at AGGREGATION',
    'sales.customers.customer_id I WINDOW',
    'sales.orders.placed_at I WINDOW',
    'sales.orders.customer_id I GROUP_BY',
    'sales.orders.placed_at I GROUP_BY',
  ],
  'customer_orders.return_rate_90d': [
    'sales.returns.quantity AGGREGATION',
    'sales.order_items.quantity AGGREGATION',
    'sales.returns.order_id I JOIN',
    'sales.orders.order_id I JOIN',
    'sales.order_items.order_id I JOIN',
    'sales.returns.returned_at I GROUP_BY',
    'sales.orders.customer_id I GROUP_BY',
    'sales.customers.customer_id I GROUP_BY',
    'sales.orders.placed_at I GROUP_BY',
    'sales.orders.cancelled_at I FILTER',
    'sales.customers.customer_id I WINDOW',
    'sales.orders.placed_at I WINDOW',
  ],
  'customer_delivery.avg_delay_hours_90d': [
    'fulfillment.shipments.delay_hours AGGREGATION',
    'fulfillment.shipments.order_id I JOIN',
    'sales.orders.order_id I JOIN',
    'fulfillment.shipments.delivered_at I GROUP_BY',
    'sales.orders.customer_id I GROUP_BY',
    'fulfillment.shipments.delivered_at I WINDOW',
    'sales.customers.customer_id I WINDOW',
  ],
  'customer_delivery.late_deliveries_30d': [
    'fulfillment.shipments.is_late I FILTER',
    'fulfillment.shipments.order_id I JOIN',
    'sales.orders.order_id I JOIN',
    'fulfillment.shipments.delivered_at I GROUP_BY',
    'sales.orders.customer_id I GROUP_BY',
    'fulfillment.shipments.delivered_at I WINDOW',
    'sales.customers.customer_id I WINDOW',
  ],
  'customer_payments.refunded_amount_90d': [
    'payments.payment_transactions.amount AGGREGATION',
    'payments.payment_transactions.type I FILTER',
    'payments.payment_transactions.order_id I JOIN',
    'payments.payments.order_id I JOIN',
    'sales.orders.order_id I JOIN',
    'payments.payment_transactions.processed_at I GROUP_BY',
    ...['authorised_at', 'captured_at', 'failed_at'].flatMap((c) => [
      `payments.payments.${c} I GROUP_BY`,
      `payments.payments.${c} I WINDOW`,
    ]),
    'sales.orders.customer_id I GROUP_BY',
    'sales.customers.customer_id I WINDOW',
  ],
  'customer_campaigns.days_since_last_touch': [
    'campaigns.campaign_touches.touched_at AGGREGATION',
    'campaigns.campaign_touches.customer_id I GROUP_BY',
    'campaigns.campaign_touches.touched_at I GROUP_BY',
    'campaigns.campaign_touches.touched_at I WINDOW',
    'sales.customers.customer_id I WINDOW',
  ],
  'product_pricing.event_timestamp': ['catalog.product_prices.valid_from IDENTITY'],
  'product_pricing.price_change_pct': [
    'catalog.product_prices.price TRANSFORMATION',
    'catalog.product_prices.product_id I WINDOW',
    'catalog.product_prices.valid_from I WINDOW',
  ],
  // sales/features/customer_recent_orders.sql: orders counted per instant (count(*): no column), summed over windows.
  'customer_recent_orders.customer_id': ['sales.orders.customer_id IDENTITY'],
  'customer_recent_orders.event_timestamp': ['sales.orders.placed_at IDENTITY'],
  'customer_recent_orders.orders_1h': ['sales.orders.customer_id I WINDOW', 'sales.orders.placed_at I WINDOW'],
  'customer_recent_orders.orders_24h': ['sales.orders.customer_id I WINDOW', 'sales.orders.placed_at I WINDOW'],
  'customer_recent_orders.last_order_total_eur': ['sales.orders.total_eur AGGREGATION', 'sales.orders.order_id I SORT'],
  'product_returns.units_sold_30d': [
    'sales.order_items.quantity AGGREGATION',
    'sales.orders.cancelled_at I FILTER',
    'sales.orders.placed_at I GROUP_BY',
  ],
};

const FEATURE_ROWS: Record<string, string[]> = {
  // One row per customer and instant: grouped by both.
  customer_recent_orders: ['sales.orders.customer_id I GROUP_BY', 'sales.orders.placed_at I GROUP_BY'],
  customer_orders: [
    'sales.customers.customer_id I JOIN',
    'sales.orders.customer_id I JOIN',
    'sales.customers.signup_date I FILTER',
    'sales.orders.placed_at I FILTER',
    'sales.orders.placed_at I JOIN',
    'sales.returns.returned_at I JOIN',
  ],
  product_pricing: [],
};

type Edge = { type: string; subtype: string };
const show = (where: string, e: Edge) => `${where} ${e.type === 'DIRECT' ? '' : 'I '}${e.subtype}`;

/** Each column's own edges and each dataset's, as the table writes them. */
function flatten(m: MeshColumnLineage) {
  const columns = new Map<string, string[]>();
  const rows = new Map<string, string[]>();
  for (const [dataset, l] of m.curated) {
    rows.set(dataset, l.dataset.map((e) => show(`${e.source}.${e.field}`, e)).sort());
    for (const c of l.columns)
      columns.set(`${dataset}.${c.name}`, c.edges.map((e) => show(`${e.source}.${e.field}`, e)).sort());
  }
  for (const [view, l] of m.views) {
    rows.set(view, l.dataset.map((e) => show(`${e.table}.${e.column}`, e)).sort());
    for (const c of l.columns)
      columns.set(`${view}.${c.name}`, c.edges.map((e) => show(`${e.table}.${e.column}`, e)).sort());
  }
  return { columns, rows };
}

/** Where the derived lineage differs from the table, column by column. */
function differences(m: MeshColumnLineage): string[] {
  const { columns, rows } = flatten(m);
  const out: string[] = [];
  const compare = (what: string, want: string[], got: string[] | undefined) => {
    const w = [...want].sort();
    if (!got) out.push(`${what}: missing`);
    else if (JSON.stringify(w) !== JSON.stringify(got))
      out.push(`${what}: expected ${w.join(', ') || 'nothing'}; derived ${got.join(', ') || 'nothing'}`);
  };
  for (const [column, want] of Object.entries({ ...CURATED, ...FEATURES })) compare(column, want, columns.get(column));
  for (const [dataset, want] of Object.entries({ ...CURATED_ROWS, ...FEATURE_ROWS }))
    compare(`${dataset} (every row)`, want, rows.get(dataset));
  return out;
}

let duck: Duck;
let mesh: MeshColumnLineage;
beforeAll(async () => {
  duck = await Duck.open();
  mesh = await meshColumnLineage(duck, listDomains(path.join(REPO_ROOT, 'subgraphs')));
});
afterAll(() => duck.close());

describe("column lineage derived from every pipeline's and feature view's SQL", () => {
  it('equals the table written by hand from the SQL, edge for edge, across five domains and seven views', () => {
    expect(mesh.problems).toEqual([]);
    const listed = new Set(Object.keys({ ...CURATED, ...FEATURES }).map((c) => c.split('.')[0]));
    expect(listed).toEqual(new Set(['fulfillment', 'sales', 'catalog', 'payments', 'campaigns', ...mesh.views.keys()]));
    expect(Object.keys({ ...CURATED, ...FEATURES }).length).toBeGreaterThanOrEqual(40);
    expect(differences(mesh)).toEqual([]);
  });

  it('a feature is fed by what it is computed from: total_eur feeds two features of customer_orders, not eight', () => {
    const fed = [...mesh.views.get('customer_orders')!.columns]
      .filter((c) => c.edges.some((e) => e.table === 'sales.orders' && e.column === 'total_eur' && e.type === 'DIRECT'))
      .map((c) => c.name);
    expect(fed).toEqual(['avg_order_value_90d', 'total_spend_90d']);
    expect(FEATURES['customer_orders.customer_id']).not.toContain('sales.orders.total_eur AGGREGATION');
  });

  it('every curated and feature column reaches at least one upstream column', () => {
    const { columns, rows } = flatten(mesh);
    const orphans = [...columns]
      .filter(
        ([column, own]) => own.length === 0 && (rows.get(column.split('.').slice(0, -1).join('.')) ?? []).length === 0,
      )
      .map(([column]) => column);
    expect(orphans).toEqual([]);
    // Every column of every contract and every feature view is there.
    expect([...mesh.curated.values()].reduce((n, d) => n + d.columns.length, 0)).toBe(108);
    expect([...mesh.views.values()].reduce((n, v) => n + v.columns.length, 0)).toBe(39);
  });
});

describe('planted changes to the SQL fail the table', () => {
  let domains: ReturnType<typeof copyDomains>;
  beforeAll(() => {
    domains = copyDomains();
  });
  afterAll(() => domains.remove());

  /** The table's differences once `file` has each replacement made. */
  async function planted(file: string, ...replacements: [string | RegExp, string][]): Promise<string[]> {
    const sqlFile = path.join(domains.dir, file);
    const original = fs.readFileSync(sqlFile, 'utf8');
    let changed = original;
    for (const [from, to] of replacements) {
      const next = changed.replace(from, to);
      expect(next, `the plant changes ${file} at ${from}`).not.toBe(changed);
      changed = next;
    }
    fs.writeFileSync(sqlFile, changed);
    try {
      return differences(await meshColumnLineage(duck, listDomains(domains.dir)));
    } finally {
      fs.writeFileSync(sqlFile, original);
    }
  }

  it('a renamed column', async () => {
    // And the feature view reading it cannot be derived any more: its columns are missing too.
    expect(await planted('fulfillment/pipeline/shipments.sql', ['AS delay_hours', 'AS delay_h'])).toEqual([
      'fulfillment.shipments.delay_hours: missing',
      'customer_delivery.avg_delay_hours_90d: missing',
      'customer_delivery.late_deliveries_30d: missing',
    ]);
  });

  it('an added join', async () => {
    const found = await planted('sales/pipeline/orders.sql', [
      'LEFT JOIN fx USING (currency)',
      "LEFT JOIN fx USING (currency) JOIN src.customers k ON k.customer_id = c.customer_id AND k.country <> 'XX'",
    ]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^sales\.orders \(every row\): expected .*; derived .*customers\.country I FILTER/);
  });

  it('a column moved into a CTE that takes it from any event, not the label event', async () => {
    const found = await planted(
      'fulfillment/pipeline/shipments.sql',
      [
        /\nSELECT\n/,
        ',\na AS (SELECT shipment_id, any_value(address_line) AS any_address FROM e GROUP BY 1)\nSELECT\n',
      ],
      ['recipient_name, address_line, city', 'recipient_name, any_address AS address_line, city'],
      ['FROM s\n', 'FROM s JOIN a USING (shipment_id)\n'],
    );
    expect(found).toEqual([
      'fulfillment.shipments.address_line: expected carrier_events.event_time I SORT, ' +
        'carrier_events.recipient.address_line AGGREGATION; derived carrier_events.recipient.address_line AGGREGATION',
      expect.stringMatching(/^fulfillment\.shipments \(every row\): .*; derived .*carrier_events\.shipment_id I JOIN/),
    ]);
  });

  it('and a move into a CTE that computes the same changes nothing: the analysis follows it', async () => {
    expect(
      await planted(
        'fulfillment/pipeline/shipments.sql',
        [
          '    max(promised_date) AS promised_date,',
          '    max(promised_date) AS promised_date,\n' +
            '    CAST(max(promised_date) AS TIMESTAMP) + INTERVAL 20 HOUR AS due,',
        ],
        ['CAST(promised_date AS TIMESTAMP) + INTERVAL 20 HOUR AS promised_at', 'due AS promised_at'],
      ),
    ).toEqual([]);
  });
});
