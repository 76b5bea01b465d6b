-- Transactional outbox: events written in the same transaction as the state change.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    subject      text        NOT NULL,
    payload      bytea       NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Idempotent consumers: one row per (consumer, event) handled, written in the handler's transaction.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on: kept for ops to inspect and replay, never silently dropped.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text        NOT NULL,
    subject       text        NOT NULL,
    event_id      text,
    payload       bytea       NOT NULL,
    error         text        NOT NULL,
    deliveries    int         NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    replayed_at   timestamptz
);
