-- Which unit answers which category; seeded from the catalogue by `migrate`.
CREATE TABLE routing_rules (
    category            text PRIMARY KEY,
    organisation        text    NOT NULL,
    first_response_days integer NOT NULL CHECK (first_response_days >= 0),
    resolution_days     integer NOT NULL CHECK (resolution_days >= first_response_days),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    petition_id        uuid PRIMARY KEY,
    tracking_code      text        NOT NULL,
    province           text        NOT NULL,
    category           text        NOT NULL,
    citizen_ref        text        NOT NULL,
    status             text        NOT NULL,
    organisation       text        NOT NULL,
    unit               text        NOT NULL,
    rule               text        NOT NULL,
    first_response_due timestamptz NOT NULL,
    resolution_due     timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_queue_idx ON cases (unit, status, resolution_due);
CREATE INDEX cases_citizen_idx ON cases (citizen_ref, category);

-- Every transition of every case, with the event that caused it.
CREATE TABLE case_history (
    id          bigserial PRIMARY KEY,
    petition_id uuid        NOT NULL REFERENCES cases (petition_id),
    event_id    uuid        NOT NULL,
    from_status text,
    to_status   text        NOT NULL,
    note        text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_history_petition_idx ON case_history (petition_id, id);
