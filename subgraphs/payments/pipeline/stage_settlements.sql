-- Processor settlement lines: authorisations, captures, failures and refunds.
SELECT *,
  CASE
    WHEN transaction_id IS NULL THEN 'missing transaction_id'
    WHEN payment_id IS NULL THEN 'missing payment_id'
    WHEN order_id IS NULL THEN 'missing order_id'
    WHEN type IS NULL THEN 'missing type'
    WHEN type NOT IN ('authorised', 'captured', 'failed', 'refunded') THEN 'unknown type ' || type
    WHEN amount IS NULL THEN 'missing or unparseable amount'
    WHEN amount < 0 THEN 'amount out of range'
    WHEN processed_at IS NULL THEN 'missing or unparseable processed_at'
    WHEN card_last4 IS NOT NULL AND NOT regexp_matches(card_last4, '^[0-9]{4}$') THEN 'card_last4 is not 4 digits'
  END AS _reject_reason
FROM (
  SELECT
    transaction_id, payment_id, order_id, processor, type,
    TRY_CAST(amount AS DECIMAL(12, 2)) AS amount,
    currency, method,
    nullif(card_last4, '') AS card_last4,
    ts(processed_at) AS processed_at,
    nullif(failure_code, '') AS failure_code,
    _file, _line, _raw
  FROM input
)
