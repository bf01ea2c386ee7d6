-- One row per customer and day; a delivery counts from the snapshot after it happened. Customers come from sales.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(delivered_at) FROM fulfillment.shipments)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
delivered AS (
  SELECT o.customer_id, date_trunc('day', s.delivered_at) + INTERVAL 1 DAY AS day,
    count(*) AS deliveries, count(*) FILTER (WHERE s.is_late) AS late, sum(s.delay_hours) AS delay_hours
  FROM fulfillment.shipments s JOIN sales.orders o USING (order_id)
  WHERE s.delivered_at IS NOT NULL GROUP BY ALL
)
SELECT
  g.customer_id,
  g.day AS event_timestamp,
  sum(coalesce(d.deliveries, 0)) OVER w90 AS deliveries_90d,
  sum(coalesce(d.late, 0)) OVER w30 AS late_deliveries_30d,
  coalesce(sum(coalesce(d.late, 0)) OVER w90 / nullif(sum(coalesce(d.deliveries, 0)) OVER w90, 0), 0) AS late_delivery_rate_90d,
  sum(d.delay_hours) OVER w90 / nullif(sum(coalesce(d.deliveries, 0)) OVER w90, 0) AS avg_delay_hours_90d
FROM grid g
LEFT JOIN delivered d USING (customer_id, day)
WINDOW
  w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
  w90 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)
