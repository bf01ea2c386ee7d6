-- The latest listing of every product, with when it first appeared.
SELECT
  product_id, sku, name, category, brand, price, currency, active,
  min(snapshot_at) OVER (PARTITION BY product_id) AS first_seen_at,
  snapshot_at AS updated_at
FROM src.product_feed
QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY snapshot_at DESC) = 1
