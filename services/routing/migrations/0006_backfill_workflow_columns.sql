-- Cases routed before the workflow columns existed: targets in days and
-- warning times derived from their due dates, so the watchdog warns them
-- like any other and an appeal gets a real fresh target.
UPDATE cases SET
    first_response_days = GREATEST(0, ceil(extract(epoch FROM first_response_due - created_at) / 86400))::integer,
    resolution_days     = GREATEST(1, ceil(extract(epoch FROM resolution_due - created_at) / 86400))::integer,
    first_response_warn = created_at + (first_response_due - created_at) * 0.8,
    resolution_warn     = created_at + (resolution_due - created_at) * 0.8
WHERE resolution_days = 0 AND first_response_warn IS NULL;
