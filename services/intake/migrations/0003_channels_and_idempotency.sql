-- Petition details every channel can carry.
ALTER TABLE petitions
    ADD COLUMN county           text,
    ADD COLUMN attachments      jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN letter           jsonb,
    ADD COLUMN resolved_on_spot boolean NOT NULL DEFAULT false,
    ADD COLUMN on_spot_answer   text;

-- Idempotency-Key of every POST that created something, with the answer it got.
-- The row is written in the same transaction as what it created, so a retry
-- either finds it (and gets the original answer) or creates the thing itself.
CREATE TABLE idempotency_keys (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    request_hash    bytea       NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
