-- Secret rotation, pause, circuit breaker; email recipients and officers' preferences;
-- deliveries over several channels, still at most one per (event, channel, target).
ALTER TABLE endpoint
    ADD COLUMN previous_secret       text,         -- still signs until previous_secret_until
    ADD COLUMN previous_secret_until timestamptz,
    ADD COLUMN paused                boolean NOT NULL DEFAULT false,
    ADD COLUMN consecutive_failures  integer NOT NULL DEFAULT 0,
    ADD COLUMN circuit_open_until    timestamptz;

CREATE TABLE email_recipient (
    id         uuid PRIMARY KEY,
    agency_id  uuid        NOT NULL,
    address    text        NOT NULL,
    language   text        NOT NULL DEFAULT 'en',
    enabled    boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, address)
);

CREATE TABLE officer_preference (
    officer_id text PRIMARY KEY,
    email      text        NOT NULL,
    enabled    boolean     NOT NULL DEFAULT true,
    language   text        NOT NULL DEFAULT 'en',
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE delivery
    ADD COLUMN channel  text NOT NULL DEFAULT 'webhook',  -- webhook | email
    ADD COLUMN target   text,                             -- endpoint id, or email address
    ADD COLUMN language text,
    ADD COLUMN audience text NOT NULL DEFAULT 'agency';   -- agency | officer
UPDATE delivery SET target = endpoint_id::text;
ALTER TABLE delivery ALTER COLUMN target SET NOT NULL;
ALTER TABLE delivery ALTER COLUMN endpoint_id DROP NOT NULL;
ALTER TABLE delivery DROP CONSTRAINT delivery_event_id_endpoint_id_key;
ALTER TABLE delivery ADD CONSTRAINT delivery_once UNIQUE (event_id, channel, target);
CREATE INDEX delivery_endpoint_status ON delivery (endpoint_id, status);
