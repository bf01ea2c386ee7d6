-- One row per customer and day; a payment counts from the snapshot after its outcome. Customers come from sales.
WITH outcome AS (
  SELECT p.*, o.customer_id, coalesce(p.failed_at, p.captured_at, p.authorised_at) AS settled_at
  FROM payments.payments p JOIN sales.orders o USING (order_id)
),
days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(settled_at) FROM outcome)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
daily AS (
  SELECT customer_id, date_trunc('day', settled_at) + INTERVAL 1 DAY AS day,
    count(*) AS payments, count(*) FILTER (WHERE status = 'failed') AS failed, sum(refunded_amount) AS refunded
  FROM outcome WHERE settled_at IS NOT NULL GROUP BY ALL
)
SELECT
  g.customer_id,
  g.day AS event_timestamp,
  sum(coalesce(d.payments, 0)) OVER w90 AS payments_90d,
  sum(coalesce(d.failed, 0)) OVER w30 AS failed_payments_30d,
  coalesce(sum(coalesce(d.failed, 0)) OVER w90 / nullif(sum(coalesce(d.payments, 0)) OVER w90, 0), 0) AS failed_payment_rate_90d,
  sum(coalesce(d.refunded, 0)) OVER w90 AS refunded_amount_90d
FROM grid g
LEFT JOIN daily d USING (customer_id, day)
WINDOW
  w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
  w90 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)
