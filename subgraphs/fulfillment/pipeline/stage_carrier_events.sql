-- Carrier tracking events. The label event carries the recipient (PII).
SELECT
  j->>'event_id' AS event_id,
  j->>'shipment_id' AS shipment_id,
  j->>'order_id' AS order_id,
  j->>'carrier' AS carrier,
  j->>'status' AS status,
  ts(j->>'event_time') AS event_time,
  TRY_CAST(j->>'promised_date' AS DATE) AS promised_date,
  j->>'location' AS location,
  j->>'detail' AS detail,
  j->'recipient'->>'name' AS recipient_name,
  j->'recipient'->>'address_line' AS address_line,
  j->'recipient'->>'city' AS city,
  j->'recipient'->>'postal_code' AS postal_code,
  j->'recipient'->>'country' AS country,
  CASE
    WHEN event_id IS NULL THEN 'missing event_id'
    WHEN shipment_id IS NULL THEN 'missing shipment_id'
    WHEN order_id IS NULL THEN 'missing order_id'
    WHEN carrier IS NULL THEN 'missing carrier'
    WHEN status IS NULL THEN 'missing status'
    WHEN status NOT IN ('label_created', 'picked_up', 'in_transit', 'exception', 'out_for_delivery', 'delivered') THEN 'unknown status ' || status
    WHEN event_time IS NULL THEN 'missing or unparseable event_time'
    WHEN event_time < TIMESTAMP '2000-01-01' OR event_time > as_of() + INTERVAL 1 DAY THEN 'event_time out of range'
  END AS _reject_reason,
  _file, _line, _raw
FROM input
