-- Daily returns batches from the warehouse system.
SELECT *,
  CASE
    WHEN return_id IS NULL THEN 'missing return_id'
    WHEN order_id IS NULL THEN 'missing order_id'
    WHEN product_id IS NULL THEN 'missing product_id'
    WHEN returned_at IS NULL THEN 'missing or unparseable returned_at'
    WHEN quantity IS NULL OR quantity <= 0 THEN 'quantity out of range'
    WHEN refund_amount IS NULL OR refund_amount < 0 THEN 'refund_amount missing or negative'
  END AS _reject_reason
FROM (
  SELECT
    return_id,
    order_id,
    product_id,
    TRY_CAST(quantity AS INTEGER) AS quantity,
    reason,
    ts(returned_at) AS returned_at,
    TRY_CAST(refund_amount AS DECIMAL(12, 2)) AS refund_amount,
    currency,
    _file, _line, _raw
  FROM input
)
