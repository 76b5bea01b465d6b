-- An intake's fingerprint (request_hash) is erased with its family's data (consent withdrawn,
-- retention): each key names its case. Fingerprints are keyed from now on (see
-- `intake_fingerprints`); the unkeyed ones of cases already withdrawn or purged go now.
ALTER TABLE idempotency_key
    ADD COLUMN case_id uuid,
    ALTER COLUMN request_hash DROP NOT NULL;

UPDATE idempotency_key SET case_id = (response ->> 'case_id')::uuid
WHERE response ? 'case_id';

UPDATE idempotency_key AS i SET request_hash = NULL
FROM referral_case AS c
WHERE c.id = i.case_id AND (c.consent_withdrawn_at IS NOT NULL OR c.purged_at IS NOT NULL);

CREATE INDEX idempotency_key_case ON idempotency_key (case_id) WHERE request_hash IS NOT NULL;
