-- What the officer's workspace shows besides the workflow: where the petition came from, and the
-- promises officials made about it at service-desk meetings.
ALTER TABLE cases
    ADD COLUMN channel          text    NOT NULL DEFAULT '',
    ADD COLUMN desk_event_id    text    NOT NULL DEFAULT '',
    ADD COLUMN attachment_count integer NOT NULL DEFAULT 0;
CREATE INDEX cases_desk_event_idx ON cases (desk_event_id) WHERE desk_event_id <> '';

-- From `pasokh.desk.activity.v1`, keyed by the tracking code: a meeting may be recorded before
-- the petition it names has become a case (the two topics are not ordered with each other).
CREATE TABLE promises (
    meeting_id     text PRIMARY KEY,
    tracking_code  text        NOT NULL,
    province       text        NOT NULL,
    organisation   text        NOT NULL,
    official_title text        NOT NULL,
    due            date        NOT NULL,
    made_at        timestamptz NOT NULL
);
CREATE INDEX promises_tracking_code_idx ON promises (tracking_code, province);
