SELECT
  product_id,
  valid_from AS event_timestamp,
  price,
  coalesce(round(100 * (price / nullif(lag(price) OVER (PARTITION BY product_id ORDER BY valid_from), 0) - 1), 2), 0) AS price_change_pct
FROM catalog.product_prices
