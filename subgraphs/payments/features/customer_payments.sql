-- One row per customer and day. Each fact counts from the snapshot after it became known: a payment from its first
-- settlement line, a failure from its failure, a refund from the refund line. Customers come from sales.
WITH known AS (
  SELECT o.customer_id, least(p.authorised_at, p.captured_at, p.failed_at) AS seen_at, p.failed_at
  FROM payments.payments p JOIN sales.orders o USING (order_id)
),
refunds AS (
  SELECT o.customer_id, t.processed_at, t.amount
  FROM payments.payment_transactions t JOIN sales.orders o USING (order_id) WHERE t.type = 'refunded'
),
days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(seen_at) FROM known)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
facts AS (
  SELECT customer_id, date_trunc('day', seen_at) + INTERVAL 1 DAY AS day, 1 AS payments, 0 AS failed, 0 AS refunded FROM known WHERE seen_at IS NOT NULL
  UNION ALL
  SELECT customer_id, date_trunc('day', failed_at) + INTERVAL 1 DAY, 0, 1, 0 FROM known WHERE failed_at IS NOT NULL
  UNION ALL
  SELECT customer_id, date_trunc('day', processed_at) + INTERVAL 1 DAY, 0, 0, amount FROM refunds
),
daily AS (
  SELECT customer_id, day, sum(payments) AS payments, sum(failed) AS failed, sum(refunded) AS refunded FROM facts GROUP BY ALL
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
