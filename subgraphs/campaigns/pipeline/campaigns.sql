SELECT campaign_id, name, channel, start_date, end_date, budget_eur, target_segment
FROM src.campaign_definitions
