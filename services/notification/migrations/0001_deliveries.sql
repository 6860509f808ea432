-- The delivery ledger: one row per (lifecycle event, channel). The unique key
-- is what guarantees a citizen never gets the same message twice, however
-- often Kafka redelivers the event.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    source_event_id uuid        NOT NULL,
    channel         text        NOT NULL,
    petition_id     uuid        NOT NULL,
    template        text        NOT NULL,
    params          jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (source_event_id, channel)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
