-- The transactional outbox, identical in every service that publishes events.
CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    message_key text        NOT NULL,
    payload     bytea       NOT NULL,
    headers     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
