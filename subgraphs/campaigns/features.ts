import { defineFeatures } from '../../feature-subgraph/index.js';

export default defineFeatures({
  views: [
    {
      name: 'customer_campaigns',
      entities: ['customer'],
      ttl: '90d',
      owner: 'campaigns-data@marketplace.example',
      description: 'Campaign touches and conversions of a customer over rolling windows, one snapshot per day',
      tags: { team: 'campaigns', cadence: 'daily' },
      sql: 'features/customer_campaigns.sql',
      features: [
        { name: 'touches_30d', dtype: 'Int64', description: 'Campaign touches in the last 30 days' },
        {
          name: 'conversions_30d',
          dtype: 'Int64',
          description: 'Conversions (attributed orders placed) in the last 30 days',
        },
        {
          name: 'conversion_rate_90d',
          dtype: 'Float64',
          description: 'Converted / touches over the last 90 days (0 without touches)',
        },
        {
          name: 'days_since_last_touch',
          dtype: 'Int64',
          description: 'Days since the last touch (null before the first)',
        },
      ],
    },
  ],
});
