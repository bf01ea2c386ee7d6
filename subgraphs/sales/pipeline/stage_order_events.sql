-- Order events from the sales.orders topic: type every field, reject what cannot be trusted.
SELECT *,
  CASE
    WHEN event_id IS NULL THEN 'missing event_id'
    WHEN order_id IS NULL THEN 'missing order_id'
    WHEN customer_id IS NULL THEN 'missing customer_id'
    WHEN event_type IS NULL THEN 'missing event_type'
    WHEN event_type NOT IN ('order_created', 'order_paid', 'order_cancelled') THEN 'unknown event_type ' || event_type
    WHEN occurred_at IS NULL THEN 'missing or unparseable occurred_at'
    WHEN occurred_at < TIMESTAMP '2000-01-01' OR occurred_at > as_of() + INTERVAL 1 DAY THEN 'occurred_at out of range'
    WHEN event_type = 'order_created' AND (items IS NULL OR len(items) = 0) THEN 'order_created without items'
    WHEN event_type = 'order_created' AND len(list_filter(items, i -> i.quantity IS NULL OR i.quantity <= 0)) > 0 THEN 'item quantity out of range'
    WHEN event_type = 'order_created' AND len(list_filter(items, i -> i.unit_price IS NULL OR i.unit_price < 0)) > 0 THEN 'item unit_price out of range'
    WHEN event_type = 'order_created' AND (total IS NULL OR total < 0) THEN 'total missing or negative'
    WHEN event_type = 'order_created' AND currency IS NULL THEN 'missing currency'
  END AS _reject_reason
FROM (
  SELECT
    event_id, event_type, order_id, customer_id,
    ts(occurred_at) AS occurred_at,
    channel, currency,
    TRY_CAST(total AS DECIMAL(12, 2)) AS total,
    campaign_id, payment_id,
    reason AS cancel_reason,
    TRY_CAST(j->'items' AS STRUCT(product_id VARCHAR, quantity INTEGER, unit_price DECIMAL(12, 2))[]) AS items,
    _file, _line, _raw
  FROM input
)
