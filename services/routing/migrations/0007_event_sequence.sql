-- Every lifecycle event routing publishes carries the case's next sequence number, so readers
-- can tell a newer event from an older or redelivered one. Each event so far left one history
-- line, so a case's count of lines is how many numbers it has already used (those events went
-- out with sequence 0; the next one is numbered after them).
ALTER TABLE cases ADD COLUMN event_sequence bigint NOT NULL DEFAULT 0;
UPDATE cases SET event_sequence = (SELECT count(*) FROM case_history h WHERE h.petition_id = cases.petition_id);
