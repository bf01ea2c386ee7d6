-- One row per order. State comes from event time, not arrival order, so late events land correctly.
WITH created AS (
  SELECT * FROM src.order_events WHERE event_type = 'order_created'
  QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY occurred_at, event_id) = 1
),
paid AS (
  SELECT order_id, min(occurred_at) AS paid_at FROM src.order_events WHERE event_type = 'order_paid' GROUP BY order_id
),
cancelled AS (
  SELECT order_id, min(occurred_at) AS cancelled_at, arg_min(cancel_reason, occurred_at) AS cancel_reason
  FROM src.order_events WHERE event_type = 'order_cancelled' GROUP BY order_id
),
fx(currency, per_eur) AS (VALUES ('EUR', 1.0), ('GBP', 0.86), ('USD', 1.08))
SELECT
  c.order_id,
  c.customer_id,
  c.occurred_at AS placed_at,
  CASE WHEN x.cancelled_at IS NOT NULL THEN 'cancelled' WHEN p.paid_at IS NOT NULL THEN 'paid' ELSE 'created' END AS status,
  c.currency,
  c.total,
  CAST(round(c.total / fx.per_eur, 2) AS DECIMAL(12, 2)) AS total_eur,
  CAST(len(c.items) AS INTEGER) AS item_count,
  c.channel,
  c.campaign_id,
  p.paid_at,
  x.cancelled_at,
  x.cancel_reason
FROM created c
LEFT JOIN paid p USING (order_id)
LEFT JOIN cancelled x USING (order_id)
LEFT JOIN fx USING (currency)
