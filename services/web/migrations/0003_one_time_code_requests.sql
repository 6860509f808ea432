-- The ask form's Idempotency-Key: a double click or a retried request sends one
-- code, not two (and does not spend the mobile's limit twice).
ALTER TABLE one_time_codes ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX one_time_codes_request_key ON one_time_codes (request_key);
