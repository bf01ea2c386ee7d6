import { defineFeatures } from '../../feature-subgraph/index.js';

const owner = 'sales-data@marketplace.example';

export default defineFeatures({
  entities: [
    {
      name: 'customer',
      joinKeys: ['customer_id'],
      description: 'A registered buyer',
      graphql: { type: 'Customer', keyField: 'id' },
    },
  ],
  views: [
    {
      name: 'customer_orders',
      entities: ['customer'],
      ttl: '90d',
      owner,
      description:
        "A customer's buying over rolling windows, one snapshot per day at 00:00 UTC from the orders placed before it",
      tags: { team: 'sales', cadence: 'daily' },
      sql: 'features/customer_orders.sql',
      features: [
        {
          name: 'total_purchases_30d',
          dtype: 'Int64',
          description: 'Orders placed in the last 30 days and not cancelled before the snapshot',
        },
        {
          name: 'num_transactions_7d',
          dtype: 'Int64',
          description: 'Orders placed in the last 7 days and not cancelled before the snapshot',
        },
        {
          name: 'avg_order_value_90d',
          dtype: 'Float64',
          description: 'Mean order total in EUR over the last 90 days (null without orders)',
        },
        { name: 'total_spend_90d', dtype: 'Float64', description: 'Sum of order totals in EUR over the last 90 days' },
        {
          name: 'return_rate_90d',
          dtype: 'Float64',
          description: 'Units returned / units bought over the last 90 days',
        },
        {
          name: 'days_since_last_order',
          dtype: 'Int64',
          description: 'Days since the last order (null before the first)',
        },
      ],
    },
    {
      name: 'customer_recent_orders',
      entities: ['customer'],
      ttl: '1d',
      owner,
      description:
        "A customer's orders of the last hour and day, as of each order placed: pushed online as the order stream is " +
        'ingested',
      tags: { team: 'sales', cadence: 'stream' },
      sql: 'features/customer_recent_orders.sql',
      // Its widest window is a day: a push reads a day of orders before the batch's earliest event, not all of them.
      push: { source: 'order_events', lookback: { within: '1d', columns: { 'sales.orders': 'placed_at' } } },
      features: [
        { name: 'orders_1h', dtype: 'Int64', description: 'Orders placed in the hour up to this one, itself included' },
        { name: 'orders_24h', dtype: 'Int64', description: 'Orders placed in the day up to this one, itself included' },
        { name: 'last_order_total_eur', dtype: 'Float64', description: 'Total in EUR of the order placed' },
      ],
    },
  ],
  services: [
    {
      name: 'customer_repurchase',
      owner,
      description: 'Will a customer order again within 30 days: buying, delivery, payment and campaign signals',
      features: ['customer_orders:*', 'customer_delivery:*', 'customer_payments:*', 'customer_campaigns:*'],
    },
    {
      name: 'customer_repurchase_sales_only',
      owner,
      description: 'The single-domain baseline of customer_repurchase',
      features: ['customer_orders:*'],
    },
  ],
});
