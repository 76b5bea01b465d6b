-- Where each agency wants to hear about referrals.
CREATE TABLE endpoint (
    id          uuid PRIMARY KEY,
    agency_id   uuid        NOT NULL,
    url         text        NOT NULL,
    secret      text        NOT NULL,          -- whsec_...; shown once, at creation
    enabled     boolean     NOT NULL DEFAULT true,
    event_types text[]      NOT NULL DEFAULT '{}',  -- empty: every referral event
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoint_agency ON endpoint (agency_id) WHERE enabled;

-- One delivery per (event, endpoint): a redelivered event finds its row and does nothing more.
CREATE TABLE delivery (
    id              uuid PRIMARY KEY,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    referral_id     uuid,
    agency_id       uuid        NOT NULL,
    endpoint_id     uuid        NOT NULL REFERENCES endpoint (id),
    payload         bytea       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',   -- pending | succeeded | dead
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_status ON delivery (status, created_at DESC);

CREATE TABLE delivery_attempt (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES delivery (id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  int,
    latency_ms   int         NOT NULL,
    error        text
);
CREATE INDEX delivery_attempt_delivery ON delivery_attempt (delivery_id, id);
