-- Product feed snapshots: one line per listed product per snapshot.
SELECT
  j->>'product_id' AS product_id,
  j->>'sku' AS sku,
  j->>'name' AS name,
  j->>'category' AS category,
  j->>'brand' AS brand,
  TRY_CAST(j->>'price' AS DECIMAL(12, 2)) AS price,
  j->>'currency' AS currency,
  TRY_CAST(j->>'active' AS BOOLEAN) AS active,
  ts(j->>'snapshot_at') AS snapshot_at,
  CASE
    WHEN product_id IS NULL THEN 'missing product_id'
    WHEN name IS NULL THEN 'missing name'
    WHEN category IS NULL THEN 'missing category'
    WHEN snapshot_at IS NULL THEN 'missing or unparseable snapshot_at'
    WHEN price IS NULL THEN 'missing or unparseable price'
    WHEN price <= 0 THEN 'price out of range'
  END AS _reject_reason,
  _file, _line, _raw
FROM input
