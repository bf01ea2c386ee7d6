-- Order lines, numbered in the order the customer added them.
WITH created AS (
  SELECT order_id, items FROM src.order_events WHERE event_type = 'order_created'
  QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY occurred_at, event_id) = 1
),
lines AS (
  SELECT order_id, unnest(items) AS item, unnest(range(1, len(items) + 1)) AS line_no FROM created
)
SELECT
  order_id,
  CAST(line_no AS INTEGER) AS line_no,
  item.product_id AS product_id,
  item.quantity AS quantity,
  item.unit_price AS unit_price,
  CAST(item.quantity * item.unit_price AS DECIMAL(12, 2)) AS line_total
FROM lines
