-- Price history: a row per price, valid from the snapshot that showed it until the next change.
WITH s AS (
  SELECT product_id, snapshot_at, price, lag(price) OVER (PARTITION BY product_id ORDER BY snapshot_at) AS previous
  FROM src.product_feed
),
changes AS (SELECT product_id, price, snapshot_at AS valid_from FROM s WHERE previous IS NULL OR previous <> price)
SELECT product_id, price, valid_from, lead(valid_from) OVER (PARTITION BY product_id ORDER BY valid_from) AS valid_to
FROM changes
