-- A supervisor closes a desk event when the desk packs up: no more walk-ins
-- or meetings are registered at it, and it leaves the console's list.
ALTER TABLE desk_events ADD COLUMN closed_at timestamptz;
ALTER TABLE desk_events ADD COLUMN closed_by text;
-- the desk looks a walk-in's earlier petitions up by the citizen's reference
CREATE INDEX IF NOT EXISTS petitions_citizen_ref_idx ON petitions (province, citizen_ref, created_at DESC);
