-- Which partner client (at the identity provider) or Open311 partner filed a
-- petition; empty for citizens and staff. Open311 lists a partner only its own.
ALTER TABLE petitions ADD COLUMN filed_by text;
CREATE INDEX petitions_filed_by ON petitions (province, filed_by, created_at) WHERE filed_by IS NOT NULL;
