-- One row per customer and day: the windows end at the snapshot (00:00 UTC) and hold only what was known before it.
-- An order counts from its placement until its cancellation, never before: a snapshot cannot know an order's fate.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(placed_at) FROM sales.orders)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
-- The orders each snapshot held: placed in the 90 days before it and not cancelled before it.
live AS (
  SELECT g.customer_id, g.day, o.order_id, o.placed_at, o.total_eur
  FROM grid g JOIN sales.orders o
    ON o.customer_id = g.customer_id AND o.placed_at < g.day AND o.placed_at >= g.day - INTERVAL 90 DAY
    AND (o.cancelled_at IS NULL OR o.cancelled_at >= g.day)
),
held AS (
  SELECT customer_id, day,
    count(*) FILTER (WHERE placed_at >= day - INTERVAL 30 DAY) AS orders_30d,
    count(*) FILTER (WHERE placed_at >= day - INTERVAL 7 DAY) AS orders_7d,
    count(*) AS orders_90d,
    sum(total_eur) AS spend_90d
  FROM live GROUP BY ALL
),
bought AS (
  SELECT l.customer_id, l.day, sum(i.quantity) AS units_90d FROM live l JOIN sales.order_items i USING (order_id) GROUP BY ALL
),
placed AS (
  SELECT customer_id, date_trunc('day', placed_at) + INTERVAL 1 DAY AS day, max(placed_at) AS last_placed_at FROM sales.orders GROUP BY ALL
),
returned AS (
  SELECT o.customer_id, date_trunc('day', r.returned_at) + INTERVAL 1 DAY AS day, sum(r.quantity) AS units
  FROM sales.returns r JOIN sales.orders o USING (order_id) GROUP BY ALL
)
SELECT
  g.customer_id,
  g.day AS event_timestamp,
  coalesce(h.orders_30d, 0) AS total_purchases_30d,
  coalesce(h.orders_7d, 0) AS num_transactions_7d,
  h.spend_90d / nullif(h.orders_90d, 0) AS avg_order_value_90d,
  coalesce(h.spend_90d, 0) AS total_spend_90d,
  least(coalesce(sum(coalesce(r.units, 0)) OVER w90 / nullif(b.units_90d, 0), 0), 1) AS return_rate_90d,
  date_diff('day', max(p.last_placed_at) OVER upto, g.day) AS days_since_last_order
FROM grid g
LEFT JOIN held h USING (customer_id, day)
LEFT JOIN bought b USING (customer_id, day)
LEFT JOIN placed p USING (customer_id, day)
LEFT JOIN returned r USING (customer_id, day)
WINDOW
  w90 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW),
  upto AS (PARTITION BY g.customer_id ORDER BY g.day ROWS UNBOUNDED PRECEDING)
