-- CRM customer exports (new and changed customers per export): type, validate, keep every version.
SELECT *,
  CASE
    WHEN customer_id IS NULL THEN 'missing customer_id'
    WHEN country IS NULL THEN 'missing country'
    WHEN NOT regexp_matches(country, '^[A-Z]{2}$') THEN 'invalid country code ' || country
    WHEN updated_at IS NULL THEN 'missing or unparseable updated_at'
    WHEN email IS NOT NULL AND NOT regexp_matches(email, '^[^@\s]+@[^@\s]+\.[a-z]{2,}$') THEN 'invalid email'
    WHEN segment NOT IN ('consumer', 'business', 'vip') THEN 'unknown segment ' || segment
  END AS _reject_reason
FROM (
  SELECT
    customer_id,
    nullif(trim(name), '') AS name,
    lower(nullif(trim(email), '')) AS email,
    nullif(trim(phone), '') AS phone,
    upper(country) AS country,
    segment,
    TRY_CAST(signup_date AS DATE) AS signup_date,
    ts(updated_at) AS updated_at,
    _file, _line, _raw
  FROM input
)
