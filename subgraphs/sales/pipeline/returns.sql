SELECT return_id, order_id, product_id, quantity, reason, returned_at, refund_amount, currency
FROM src.returns
