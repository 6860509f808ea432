-- The case workflow: officers' actions, SLA watchdog, referrals, duplicates, ratings.
ALTER TABLE cases
    ADD COLUMN kind                 text        NOT NULL DEFAULT '',
    -- the petition as intake normalised it: officers read it here, duplicates are compared on it
    ADD COLUMN text                 text        NOT NULL DEFAULT '',
    ADD COLUMN submitted_at         timestamptz NOT NULL DEFAULT now(),
    -- the targets of the matching rule, in working days, for an appeal's fresh clock
    ADD COLUMN first_response_days  integer     NOT NULL DEFAULT 0,
    ADD COLUMN resolution_days      integer     NOT NULL DEFAULT 0,
    ADD COLUMN first_response_warn  timestamptz,
    ADD COLUMN resolution_warn      timestamptz,
    ADD COLUMN first_responded_at   timestamptz,
    ADD COLUMN responded_at         timestamptz,
    ADD COLUMN info_requested_at    timestamptz,
    -- none | warned | breached, per target
    ADD COLUMN first_response_alert text        NOT NULL DEFAULT 'none',
    ADD COLUMN resolution_alert     text        NOT NULL DEFAULT 'none',
    ADD COLUMN breaches             integer     NOT NULL DEFAULT 0,
    -- 0 none, 1 provincial director, 2 HQ inspection
    ADD COLUMN escalation_level     integer     NOT NULL DEFAULT 0,
    ADD COLUMN forwards             integer     NOT NULL DEFAULT 0,
    ADD COLUMN transfers            integer     NOT NULL DEFAULT 0,
    ADD COLUMN expected_at          timestamptz,
    ADD COLUMN interim_reason       text        NOT NULL DEFAULT '',
    ADD COLUMN merged_into          uuid REFERENCES cases (petition_id),
    ADD COLUMN rating               integer;

UPDATE cases SET submitted_at = created_at;

-- the watchdog's scan: open cases by their next due moment
CREATE INDEX cases_watchdog_idx ON cases (resolution_due)
    WHERE status IN ('routed', 'acknowledged', 'in_progress', 'reopened');
CREATE INDEX cases_merged_into_idx ON cases (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX cases_tracking_code_idx ON cases (tracking_code);

ALTER TABLE case_history
    ADD COLUMN action  text NOT NULL DEFAULT '',
    ADD COLUMN actor   text NOT NULL DEFAULT 'system',
    -- what the citizen was told with this event (question, answer, interim reason), for notification's SMS
    ADD COLUMN message text NOT NULL DEFAULT '';
