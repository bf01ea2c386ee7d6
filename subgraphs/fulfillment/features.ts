import { defineFeatures } from '../../feature-subgraph/index.js';

export default defineFeatures({
  views: [
    {
      name: 'customer_delivery',
      entities: ['customer'],
      ttl: '90d',
      owner: 'fulfillment-data@marketplace.example',
      description:
        "How a customer's deliveries went over rolling windows, one snapshot per day from deliveries completed " +
        'before it',
      tags: { team: 'fulfillment', cadence: 'daily' },
      sql: 'features/customer_delivery.sql',
      features: [
        { name: 'deliveries_90d', dtype: 'Int64', description: 'Shipments delivered in the last 90 days' },
        {
          name: 'late_deliveries_30d',
          dtype: 'Int64',
          description: 'Shipments delivered after their promised time in the last 30 days',
        },
        {
          name: 'late_delivery_rate_90d',
          dtype: 'Float64',
          description: 'Late / delivered over the last 90 days (0 without deliveries)',
        },
        {
          name: 'avg_delay_hours_90d',
          dtype: 'Float64',
          description: 'Mean hours between promised and actual delivery over 90 days (negative: early)',
        },
      ],
    },
  ],
});
