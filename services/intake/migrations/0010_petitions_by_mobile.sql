-- "My petitions": the citizen's site lists a mobile's petitions once the
-- citizen proved they hold that phone (a one-time code).
CREATE INDEX IF NOT EXISTS petitions_mobile_idx ON petitions (province, mobile, created_at DESC);
