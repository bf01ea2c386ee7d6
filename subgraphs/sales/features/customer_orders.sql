-- One row per customer and day: the windows end at the snapshot (00:00 UTC) and hold only orders placed before it.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(placed_at) FROM sales.orders)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
placed AS (
  SELECT customer_id, date_trunc('day', placed_at) + INTERVAL 1 DAY AS day,
    count(*) FILTER (WHERE cancelled_at IS NULL) AS orders,
    coalesce(sum(total_eur) FILTER (WHERE cancelled_at IS NULL), 0) AS spend,
    max(placed_at) AS last_placed_at
  FROM sales.orders GROUP BY ALL
),
bought AS (
  SELECT o.customer_id, date_trunc('day', o.placed_at) + INTERVAL 1 DAY AS day, sum(i.quantity) AS units
  FROM sales.order_items i JOIN sales.orders o USING (order_id) WHERE o.cancelled_at IS NULL GROUP BY ALL
),
returned AS (
  SELECT o.customer_id, date_trunc('day', r.returned_at) + INTERVAL 1 DAY AS day, sum(r.quantity) AS units
  FROM sales.returns r JOIN sales.orders o USING (order_id) GROUP BY ALL
)
SELECT
  g.customer_id,
  g.day AS event_timestamp,
  sum(coalesce(p.orders, 0)) OVER w30 AS total_purchases_30d,
  sum(coalesce(p.orders, 0)) OVER w7 AS num_transactions_7d,
  sum(coalesce(p.spend, 0)) OVER w90 / nullif(sum(coalesce(p.orders, 0)) OVER w90, 0) AS avg_order_value_90d,
  sum(coalesce(p.spend, 0)) OVER w90 AS total_spend_90d,
  least(coalesce(sum(coalesce(r.units, 0)) OVER w90 / nullif(sum(coalesce(b.units, 0)) OVER w90, 0), 0), 1) AS return_rate_90d,
  date_diff('day', max(p.last_placed_at) OVER upto, g.day) AS days_since_last_order
FROM grid g
LEFT JOIN placed p USING (customer_id, day)
LEFT JOIN bought b USING (customer_id, day)
LEFT JOIN returned r USING (customer_id, day)
WINDOW
  w7 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
  w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
  w90 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW),
  upto AS (PARTITION BY g.customer_id ORDER BY g.day ROWS UNBOUNDED PRECEDING)
