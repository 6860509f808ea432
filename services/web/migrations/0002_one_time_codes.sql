-- "My petitions": a one-time code texted to the mobile proves the citizen holds
-- it. Only the code's SHA-256 (salted with the row's random id) is kept; a code
-- lives two minutes and allows five attempts. Rows also count requests per
-- mobile and per address for the rate limits.
CREATE TABLE one_time_codes (
    id           TEXT PRIMARY KEY,
    mobile       TEXT NOT NULL,
    code_sha256  BYTEA NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    client_ip    TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX one_time_codes_mobile ON one_time_codes (mobile, created_at);
CREATE INDEX one_time_codes_ip ON one_time_codes (client_ip, created_at);
