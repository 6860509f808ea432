-- Petitions as filed, partitioned by province: every province's intake
-- deployment writes its own partition, and a province's data can be
-- archived or moved on its own.
CREATE TABLE petitions (
    id            uuid        NOT NULL,
    province      text        NOT NULL,
    tracking_code text        NOT NULL,
    national_id   text        NOT NULL,
    mobile        text        NOT NULL,
    citizen_ref   text        NOT NULL,
    category      text        NOT NULL,
    kind          text        NOT NULL,
    channel       text        NOT NULL,
    body          text        NOT NULL,
    desk_event_id uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (province, id),
    UNIQUE (province, tracking_code)
) PARTITION BY LIST (province);

DO $$
DECLARE
    n integer;
BEGIN
    FOR n IN 0..30 LOOP
        EXECUTE format(
            'CREATE TABLE petitions_ir_%s PARTITION OF petitions FOR VALUES IN (%L)',
            lpad(n::text, 2, '0'), 'IR-' || lpad(n::text, 2, '0'));
    END LOOP;
END $$;

-- GetContact looks petitions up by id alone
CREATE INDEX petitions_id_idx ON petitions (id);
