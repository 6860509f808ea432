-- A citizen rates each response: after an appeal and a new answer they rate
-- again. Whether a rating is open is decided from routing's case status.
DROP INDEX petition_messages_one_rating_idx;
