-- The dispatcher's queue: each petition's oldest unsent delivery, and when it may be claimed
-- (its next attempt, or the end of the lease of the attempt under way). A claim reads the first
-- due rows of this small table instead of walking the ledger's unsent rows and asking, for every
-- one, whether an older one of its petition is still unsent: with a backlog that walk took
-- seconds per claim and the dispatcher fell minutes behind (docs/benchmarks.md, "Pipeline").
-- Whoever changes a petition's head (the consumer adding a delivery, the dispatcher finishing
-- one, a re-queue) holds that petition's advisory lock, so no delivery is ever left unqueued.
CREATE TABLE sms_queue (
    delivery_id bigint      PRIMARY KEY,
    petition_id uuid        NOT NULL UNIQUE,
    due_at      timestamptz NOT NULL
) WITH (
    -- every row is inserted, updated once or twice and deleted within seconds: vacuum it often
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0,
    fillfactor = 70
);
CREATE INDEX sms_queue_due_idx ON sms_queue (due_at);

INSERT INTO sms_queue (delivery_id, petition_id, due_at)
SELECT DISTINCT ON (petition_id) id, petition_id,
       CASE WHEN status = 'sending' THEN coalesce(lease_until, now()) ELSE next_attempt_at END
FROM deliveries WHERE status IN ('pending', 'sending')
ORDER BY petition_id, id;

-- the backlog gauge and the re-queue command find failed deliveries without reading the ledger
CREATE INDEX deliveries_failed_idx ON deliveries (failed_at) WHERE status = 'failed';
