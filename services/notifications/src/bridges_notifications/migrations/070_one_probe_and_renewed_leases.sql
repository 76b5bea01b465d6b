-- The circuit breaker in the database, shared by every replica: one probe at a time per
-- receiver (`probe_until`, a lease on probing), and the rest doubles only per failed probe
-- (`failed_probes`), not per failure of attempts already under way when the circuit opened.
ALTER TABLE endpoint
    ADD COLUMN failed_probes integer NOT NULL DEFAULT 0,
    ADD COLUMN probe_until   timestamptz;
ALTER TABLE channel_circuit
    ADD COLUMN failed_probes integer NOT NULL DEFAULT 0,
    ADD COLUMN probe_until   timestamptz;

-- Deliveries are leased short and renewed while they run (by the worker holding them), so a
-- dead worker's are taken up in seconds; a probe is marked as such.
ALTER TABLE delivery
    ADD COLUMN lease_owner uuid,
    ADD COLUMN probe       boolean NOT NULL DEFAULT false;
