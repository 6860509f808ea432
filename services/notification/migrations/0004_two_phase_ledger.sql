-- The two-phase delivery ledger. A delivery is claimed (status 'sending',
-- with a lease) and that claim is committed *before* the gateway is called;
-- the call runs outside any transaction; the result is recorded after. A
-- claim whose holder died expires with its lease and is taken again, and the
-- resend carries the same idempotency key, which the gateway honours.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
ALTER TABLE deliveries
    ADD COLUMN lease_until timestamptz,
    -- what the gateway called the message; never a credential
    ADD COLUMN gateway_reference text NOT NULL DEFAULT '',
    -- a coarse reason for the last failure (gateway_unavailable, gateway_refused, ...)
    ADD COLUMN failure_class text NOT NULL DEFAULT '',
    ADD COLUMN failed_at timestamptz,
    -- when the retry budget runs from: creation, or the last re-queue
    ADD COLUMN retry_from timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN requeued integer NOT NULL DEFAULT 0;
UPDATE deliveries SET retry_from = created_at;
-- the dispatcher's claim walks the unsent deliveries in id order; sent ones (nearly all rows)
-- stay out of the index, so the walk never grows with the ledger's history
DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_unsent_idx ON deliveries (id) WHERE status IN ('pending', 'sending');
-- a petition's messages go out one at a time, in the order they were recorded
CREATE INDEX deliveries_unsent_by_petition_idx ON deliveries (petition_id, id) WHERE status IN ('pending', 'sending');
