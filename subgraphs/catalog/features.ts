import { defineFeatures } from '../../feature-subgraph/index.js';

const owner = 'catalog-data@marketplace.example';

export default defineFeatures({
  entities: [
    {
      name: 'product',
      joinKeys: ['product_id'],
      description: 'A listed product',
      graphql: { type: 'Product', keyField: 'id' },
    },
  ],
  views: [
    {
      name: 'product_pricing',
      entities: ['product'],
      ttl: '0',
      owner,
      description: 'The list price of a product, one row per price change (valid until the next one)',
      tags: { team: 'catalog', cadence: 'on-change' },
      sql: 'features/product_pricing.sql',
      features: [
        { name: 'price', dtype: 'Float64', description: 'List price from this change on' },
        {
          name: 'price_change_pct',
          dtype: 'Float64',
          description: 'Change against the previous price, in percent (0 for the first)',
        },
      ],
    },
    {
      name: 'product_returns',
      entities: ['product'],
      ttl: '90d',
      owner,
      description: 'Units sold and returned of a product over rolling windows, one snapshot per day (sales data)',
      tags: { team: 'catalog', cadence: 'daily' },
      sql: 'features/product_returns.sql',
      features: [
        { name: 'units_sold_30d', dtype: 'Int64', description: 'Units in orders not cancelled over the last 30 days' },
        {
          name: 'return_rate_90d',
          dtype: 'Float64',
          description: 'Units returned / units sold over the last 90 days (0 without sales)',
        },
      ],
    },
  ],
});
