-- Webhook signing secrets sealed at rest, as families' data is (`signing_secrets`): a data key
-- per endpoint wrapped under the key ring, the current and previous secret sealed under it.
-- SQL cannot seal: the service seals the plain secrets at start and empties those columns.
ALTER TABLE endpoint
    ADD COLUMN data_key               bytea,
    ADD COLUMN sealed_secret          bytea,
    ADD COLUMN sealed_previous_secret bytea,
    ALTER COLUMN secret DROP NOT NULL;
