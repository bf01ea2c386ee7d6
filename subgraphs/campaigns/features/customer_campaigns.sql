-- One row per customer and day; a touch counts from the snapshot after it, its conversion from the snapshot after the
-- attributed order. Customers come from sales.
WITH days AS (
  SELECT unnest(generate_series(date_trunc('day', (SELECT min(touched_at) FROM campaigns.campaign_touches)) + INTERVAL 1 DAY, date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM sales.customers c JOIN days d ON d.day > coalesce(c.signup_date::TIMESTAMP, TIMESTAMP '1970-01-01')
),
touched AS (
  SELECT customer_id, date_trunc('day', touched_at) + INTERVAL 1 DAY AS day, count(*) AS touches, max(touched_at) AS last_touched_at
  FROM campaigns.campaign_touches GROUP BY ALL
),
-- A conversion is known when its attributed order is placed, not when the touch happened.
converted AS (
  SELECT t.customer_id, date_trunc('day', o.placed_at) + INTERVAL 1 DAY AS day, count(*) AS conversions
  FROM campaigns.campaign_touches t JOIN sales.orders o USING (order_id) WHERE t.converted GROUP BY ALL
),
daily AS (
  SELECT customer_id, day, coalesce(t.touches, 0) AS touches, coalesce(c.conversions, 0) AS conversions, t.last_touched_at
  FROM touched t FULL JOIN converted c USING (customer_id, day)
)
SELECT
  g.customer_id,
  g.day AS event_timestamp,
  sum(coalesce(d.touches, 0)) OVER w30 AS touches_30d,
  sum(coalesce(d.conversions, 0)) OVER w30 AS conversions_30d,
  coalesce(sum(coalesce(d.conversions, 0)) OVER w90 / nullif(sum(coalesce(d.touches, 0)) OVER w90, 0), 0) AS conversion_rate_90d,
  date_diff('day', max(d.last_touched_at) OVER upto, g.day) AS days_since_last_touch
FROM grid g
LEFT JOIN daily d USING (customer_id, day)
WINDOW
  w30 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
  w90 AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW),
  upto AS (PARTITION BY g.customer_id ORDER BY g.day ROWS UNBOUNDED PRECEDING)
