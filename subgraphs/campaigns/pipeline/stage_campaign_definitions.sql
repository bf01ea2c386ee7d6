SELECT *,
  CASE
    WHEN campaign_id IS NULL THEN 'missing campaign_id'
    WHEN name IS NULL THEN 'missing name'
    WHEN channel IS NULL THEN 'missing channel'
    WHEN start_date IS NULL OR end_date IS NULL THEN 'missing or unparseable dates'
    WHEN end_date < start_date THEN 'end_date before start_date'
    WHEN budget_eur < 0 THEN 'budget out of range'
  END AS _reject_reason
FROM (
  SELECT
    campaign_id, name, channel,
    TRY_CAST(start_date AS DATE) AS start_date,
    TRY_CAST(end_date AS DATE) AS end_date,
    TRY_CAST(budget_eur AS DECIMAL(12, 2)) AS budget_eur,
    target_segment,
    _file, _line, _raw
  FROM input
)
