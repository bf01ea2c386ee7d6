-- Product feed snapshots: one line per listed product per snapshot.
SELECT *,
  CASE
    WHEN product_id IS NULL THEN 'missing product_id'
    WHEN name IS NULL THEN 'missing name'
    WHEN category IS NULL THEN 'missing category'
    WHEN snapshot_at IS NULL THEN 'missing or unparseable snapshot_at'
    WHEN price IS NULL THEN 'missing or unparseable price'
    WHEN price <= 0 THEN 'price out of range'
  END AS _reject_reason
FROM (
  SELECT
    product_id, sku, name, category, brand,
    TRY_CAST(price AS DECIMAL(12, 2)) AS price,
    currency,
    TRY_CAST(active AS BOOLEAN) AS active,
    ts(snapshot_at) AS snapshot_at,
    _file, _line, _raw
  FROM input
)
