-- Carrier tracking events. The label event carries the recipient (PII).
SELECT *,
  CASE
    WHEN event_id IS NULL THEN 'missing event_id'
    WHEN shipment_id IS NULL THEN 'missing shipment_id'
    WHEN order_id IS NULL THEN 'missing order_id'
    WHEN carrier IS NULL THEN 'missing carrier'
    WHEN status IS NULL THEN 'missing status'
    WHEN status NOT IN ('label_created', 'picked_up', 'in_transit', 'exception', 'out_for_delivery', 'delivered') THEN 'unknown status ' || status
    WHEN event_time IS NULL THEN 'missing or unparseable event_time'
    WHEN event_time < TIMESTAMP '2000-01-01' OR event_time > as_of() + INTERVAL 1 DAY THEN 'event_time out of range'
  END AS _reject_reason
FROM (
  SELECT
    event_id, shipment_id, order_id, carrier, status,
    ts(event_time) AS event_time,
    TRY_CAST(promised_date AS DATE) AS promised_date,
    location, detail,
    recipient_name, recipient_address_line AS address_line, recipient_city AS city,
    recipient_postal_code AS postal_code, recipient_country AS country,
    _file, _line, _raw
  FROM input
)
