SELECT *,
  CASE
    WHEN touch_id IS NULL THEN 'missing touch_id'
    WHEN campaign_id IS NULL THEN 'missing campaign_id'
    WHEN customer_id IS NULL THEN 'missing customer_id'
    WHEN touched_at IS NULL THEN 'missing or unparseable touched_at'
    WHEN touched_at < TIMESTAMP '2000-01-01' OR touched_at > as_of() + INTERVAL 1 DAY THEN 'touched_at out of range'
  END AS _reject_reason
FROM (
  SELECT
    touch_id, campaign_id, customer_id, channel,
    ts(touched_at) AS touched_at,
    coalesce(TRY_CAST(converted AS BOOLEAN), false) AS converted,
    order_id,
    _file, _line, _raw
  FROM input
)
