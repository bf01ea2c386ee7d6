-- One row per shipment. Carriers promise delivery by 20:00 UTC on the promised date.
WITH e AS (SELECT * FROM src.carrier_events),
s AS (
  SELECT
    shipment_id,
    arg_min(order_id, event_time) AS order_id,
    arg_min(carrier, event_time) AS carrier,
    arg_max(status, event_time) AS status,
    min(event_time) FILTER (WHERE status = 'label_created') AS label_created_at,
    min(event_time) FILTER (WHERE status = 'picked_up') AS shipped_at,
    max(promised_date) AS promised_date,
    min(event_time) FILTER (WHERE status = 'delivered') AS delivered_at,
    arg_min(recipient_name, event_time) FILTER (WHERE status = 'label_created') AS recipient_name,
    arg_min(address_line, event_time) FILTER (WHERE status = 'label_created') AS address_line,
    arg_min(city, event_time) FILTER (WHERE status = 'label_created') AS city,
    arg_min(postal_code, event_time) FILTER (WHERE status = 'label_created') AS postal_code,
    arg_min(country, event_time) FILTER (WHERE status = 'label_created') AS country
  FROM e GROUP BY shipment_id
)
SELECT
  shipment_id, order_id, carrier, status, label_created_at, shipped_at,
  CAST(promised_date AS TIMESTAMP) + INTERVAL 20 HOUR AS promised_at,
  delivered_at,
  CAST(round(date_diff('minute', CAST(promised_date AS TIMESTAMP) + INTERVAL 20 HOUR, delivered_at) / 60.0, 1) AS DOUBLE) AS delay_hours,
  delivered_at > CAST(promised_date AS TIMESTAMP) + INTERVAL 20 HOUR AS is_late,
  recipient_name, address_line, city, postal_code, country
FROM s
