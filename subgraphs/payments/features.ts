import { defineFeatures } from '../../feature-subgraph/index.js';

export default defineFeatures({
  views: [
    {
      name: 'customer_payments',
      entities: ['customer'],
      ttl: '90d',
      owner: 'payments-data@marketplace.example',
      description:
        "A customer's payment outcomes over rolling windows, one snapshot per day from what the settlement lines " +
        'before it said',
      tags: { team: 'payments', cadence: 'daily' },
      sql: 'features/customer_payments.sql',
      features: [
        {
          name: 'payments_90d',
          dtype: 'Int64',
          description: 'Payments first seen (authorised, captured or failed) in the last 90 days',
        },
        { name: 'failed_payments_30d', dtype: 'Int64', description: 'Payments that failed in the last 30 days' },
        {
          name: 'failed_payment_rate_90d',
          dtype: 'Float64',
          description: 'Failed / attempted over the last 90 days (0 without payments)',
        },
        {
          name: 'refunded_amount_90d',
          dtype: 'Float64',
          description: 'Amount refunded over the last 90 days (by refund time), in payment currency units',
        },
      ],
    },
  ],
});
