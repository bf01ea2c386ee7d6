SELECT touch_id, campaign_id, customer_id, channel, touched_at, converted, order_id
FROM src.touches
