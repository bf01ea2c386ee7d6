-- One row per product and day from its first sale; windows end at the snapshot and hold only earlier sales and returns.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(placed_at) FROM sales.orders)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
sold AS (
  SELECT i.product_id, date_trunc('day', o.placed_at) + INTERVAL 1 DAY AS day, sum(i.quantity) AS units
  FROM sales.order_items i JOIN sales.orders o USING (order_id) WHERE o.cancelled_at IS NULL GROUP BY ALL
),
returned AS (
  SELECT product_id, date_trunc('day', returned_at) + INTERVAL 1 DAY AS day, sum(quantity) AS units FROM sales.returns GROUP BY ALL
),
grid AS (
  SELECT p.product_id, d.day FROM catalog.products p JOIN days d ON d.day >= (SELECT min(day) FROM sold s WHERE s.product_id = p.product_id)
)
SELECT
  g.product_id,
  g.day AS event_timestamp,
  sum(coalesce(s.units, 0)) OVER w30 AS units_sold_30d,
  least(coalesce(sum(coalesce(r.units, 0)) OVER w90 / nullif(sum(coalesce(s.units, 0)) OVER w90, 0), 0), 1) AS return_rate_90d
FROM grid g
LEFT JOIN sold s USING (product_id, day)
LEFT JOIN returned r USING (product_id, day)
WINDOW
  w30 AS (PARTITION BY g.product_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
  w90 AS (PARTITION BY g.product_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)
