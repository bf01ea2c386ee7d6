-- One row per payment attempt, its state from the settlement lines in time order.
WITH t AS (SELECT * FROM src.settlements),
p AS (
  SELECT
    payment_id,
    arg_min(order_id, processed_at) AS order_id,
    arg_min(processor, processed_at) AS processor,
    arg_min(method, processed_at) AS method,
    arg_min(currency, processed_at) AS currency,
    arg_min(card_last4, processed_at) AS card_last4,
    max(amount) FILTER (WHERE type IN ('authorised', 'captured', 'failed')) AS amount,
    min(processed_at) FILTER (WHERE type = 'authorised') AS authorised_at,
    min(processed_at) FILTER (WHERE type = 'captured') AS captured_at,
    min(processed_at) FILTER (WHERE type = 'failed') AS failed_at,
    arg_min(failure_code, processed_at) FILTER (WHERE type = 'failed') AS failure_code,
    coalesce(sum(amount) FILTER (WHERE type = 'refunded'), 0) AS refunded_amount
  FROM t GROUP BY payment_id
)
SELECT
  payment_id, order_id, processor, method,
  CASE
    WHEN failed_at IS NOT NULL THEN 'failed'
    WHEN refunded_amount > 0 AND refunded_amount >= amount THEN 'refunded'
    WHEN refunded_amount > 0 THEN 'partially_refunded'
    WHEN captured_at IS NOT NULL THEN 'captured'
    WHEN authorised_at IS NOT NULL THEN 'authorised'
    ELSE 'unknown'
  END AS status,
  amount, CAST(refunded_amount AS DECIMAL(12, 2)) AS refunded_amount, currency, card_last4,
  authorised_at, captured_at, failed_at, failure_code
FROM p
