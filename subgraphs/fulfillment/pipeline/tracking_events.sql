SELECT event_id, shipment_id, order_id, carrier, status, event_time, location, detail
FROM src.carrier_events
