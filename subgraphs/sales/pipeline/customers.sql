-- The latest version of every customer.
SELECT customer_id, name, email, phone, country, segment, signup_date, updated_at
FROM src.customers
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY updated_at DESC) = 1
