-- One row per customer and instant an order was placed: the orders placed in the hour and in the day up to that instant
-- (both ends included), and the total of the order just placed (of several at one instant, the greatest order id).
-- Cancelled orders count: when an order was placed, its fate was unknown. Pushed online with every stream batch.
WITH placed AS (
  SELECT customer_id, placed_at, count(*) AS orders, arg_max(total_eur, order_id) AS total_eur
  FROM sales.orders GROUP BY customer_id, placed_at
)
SELECT
  customer_id,
  placed_at AS event_timestamp,
  sum(orders) OVER (PARTITION BY customer_id ORDER BY placed_at RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW)
    AS orders_1h,
  sum(orders) OVER (PARTITION BY customer_id ORDER BY placed_at RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW)
    AS orders_24h,
  total_eur AS last_order_total_eur
FROM placed
