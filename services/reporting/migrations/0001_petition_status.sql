-- One row per petition with its latest status: the read model behind the summaries.
CREATE TABLE petition_status (
    petition_id  uuid PRIMARY KEY,
    province     text        NOT NULL,
    category     text        NOT NULL,
    status       text        NOT NULL,
    organisation text        NOT NULL DEFAULT '',
    submitted_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX petition_status_summary_idx ON petition_status (province, category, status);
