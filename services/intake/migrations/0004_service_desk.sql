-- Service-desk events (میز خدمت): Friday prayer, the ministry's door, the Fajr decade.
CREATE TABLE desk_events (
    id            uuid PRIMARY KEY,
    province      text        NOT NULL,
    title         text        NOT NULL,
    venue         text        NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL CHECK (ends_at > starts_at),
    organisations text[]      NOT NULL,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX desk_events_province_idx ON desk_events (province, starts_at);

-- Face-to-face meetings of citizens with officials at a desk event.
CREATE TABLE desk_meetings (
    id             uuid PRIMARY KEY,
    desk_event_id  uuid        NOT NULL REFERENCES desk_events (id),
    official_name  text        NOT NULL,
    official_title text        NOT NULL,
    organisation   text        NOT NULL,
    tracking_code  text,
    notes          text        NOT NULL DEFAULT '',
    recorded_by    text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX desk_meetings_event_idx ON desk_meetings (desk_event_id);
