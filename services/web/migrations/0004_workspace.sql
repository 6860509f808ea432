-- The officer's workspace: queue views an officer saved, and who has a case page open.
CREATE TABLE saved_views (
    id         bigserial PRIMARY KEY,
    subject    text        NOT NULL,
    name       text        NOT NULL,
    -- the queue's query string, as the filters wrote it
    query      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subject, name)
);

-- One row per member of staff and case, refreshed each time they open it: the case page
-- names the others who opened it in the last few minutes.
CREATE TABLE case_viewers (
    petition_id  text        NOT NULL,
    subject      text        NOT NULL,
    display_name text        NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (petition_id, subject)
);
CREATE INDEX case_viewers_seen_idx ON case_viewers (seen_at);
