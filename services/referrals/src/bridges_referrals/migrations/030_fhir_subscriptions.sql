-- FHIR rest-hook Subscriptions (R5 backport style, id-only): each follows the Tasks owned by one
-- agency. `notified_at`/`notified_id` is how far it has been told (Tasks in order of their last
-- change), `events` how many notifications it has sent; a failing endpoint waits `retry_at`.
CREATE TABLE fhir_subscription (
    id uuid PRIMARY KEY,
    agency_id uuid NOT NULL,
    endpoint text NOT NULL,
    secret text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'error', 'off')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    notified_at timestamptz NOT NULL,
    notified_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    events bigint NOT NULL DEFAULT 0,
    failures int NOT NULL DEFAULT 0,
    retry_at timestamptz,
    last_error text
);
CREATE INDEX fhir_subscription_active ON fhir_subscription (agency_id) WHERE status <> 'off';
