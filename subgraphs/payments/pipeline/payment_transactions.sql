SELECT transaction_id, payment_id, order_id, processor, type, amount, currency, processed_at, failure_code
FROM src.settlements
