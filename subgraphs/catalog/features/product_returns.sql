-- One row per product and day from its first order (the catalog feed may list it later). Windows end at the snapshot
-- and hold only what was known before it: units of orders placed and not yet cancelled, returns received.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(placed_at) FROM sales.orders)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
first_ordered AS (
  SELECT i.product_id, min(date_trunc('day', o.placed_at)) + INTERVAL 1 DAY AS day FROM sales.order_items i JOIN sales.orders o USING (order_id) GROUP BY ALL
),
grid AS (
  SELECT f.product_id, d.day FROM first_ordered f JOIN days d ON d.day >= f.day
),
sold AS (
  SELECT g.product_id, g.day,
    sum(i.quantity) FILTER (WHERE o.placed_at >= g.day - INTERVAL 30 DAY) AS units_30d,
    sum(i.quantity) AS units_90d
  FROM grid g
  JOIN sales.order_items i ON i.product_id = g.product_id
  JOIN sales.orders o ON o.order_id = i.order_id AND o.placed_at < g.day AND o.placed_at >= g.day - INTERVAL 90 DAY
    AND (o.cancelled_at IS NULL OR o.cancelled_at >= g.day)
  GROUP BY ALL
),
returned AS (
  SELECT product_id, date_trunc('day', returned_at) + INTERVAL 1 DAY AS day, sum(quantity) AS units FROM sales.returns GROUP BY ALL
)
SELECT
  g.product_id,
  g.day AS event_timestamp,
  coalesce(s.units_30d, 0) AS units_sold_30d,
  least(coalesce(sum(coalesce(r.units, 0)) OVER w90 / nullif(s.units_90d, 0), 0), 1) AS return_rate_90d
FROM grid g
LEFT JOIN sold s USING (product_id, day)
LEFT JOIN returned r USING (product_id, day)
WINDOW
  w90 AS (PARTITION BY g.product_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)
