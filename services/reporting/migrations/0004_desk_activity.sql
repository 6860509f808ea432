-- What happened at service desks besides petitions, from the desk activity
-- topic: each desk event, and the meetings with officials held there with
-- what they promised. A promise about a petition is followed by the
-- petition's facts (resolved by the promised day or not).
CREATE TABLE desk_events (
    desk_event_id text PRIMARY KEY,
    province      text        NOT NULL DEFAULT '',
    title         text        NOT NULL DEFAULT '',
    venue         text        NOT NULL DEFAULT '',
    starts_at     timestamptz,
    ends_at       timestamptz,
    organisations text[]      NOT NULL DEFAULT '{}',
    closed_at     timestamptz
);

CREATE TABLE desk_meetings (
    meeting_id     text PRIMARY KEY,
    desk_event_id  text        NOT NULL,
    province       text        NOT NULL,
    organisation   text        NOT NULL,
    official_title text        NOT NULL DEFAULT '',
    tracking_code  text        NOT NULL DEFAULT '',
    has_promise    boolean     NOT NULL DEFAULT false,
    -- the Tehran calendar day the official promised to have it done by
    promise_due    date,
    held_at        timestamptz NOT NULL
);
CREATE INDEX desk_meetings_event_idx ON desk_meetings (desk_event_id);
CREATE INDEX desk_meetings_held_idx ON desk_meetings (held_at);

-- promises are followed through the petition they were about
CREATE INDEX case_facts_tracking_code_idx ON case_facts (tracking_code) WHERE tracking_code <> '';
