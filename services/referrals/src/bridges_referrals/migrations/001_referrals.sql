-- Read-model of directory programs, fed by directory.* events (never by the directory's database).
CREATE TABLE program (
    service_id          uuid PRIMARY KEY,
    version             bigint      NOT NULL,
    name                text        NOT NULL,
    organization_name   text        NOT NULL,
    agency_id           uuid,
    status              text        NOT NULL,
    accepting_referrals boolean     NOT NULL,
    capacity_status     text        NOT NULL,
    taxonomy_codes      text[]      NOT NULL DEFAULT '{}',
    deleted             boolean     NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- One intake: the family (PII lives here and in consent only), filed by one officer.
CREATE TABLE referral_case (
    id          uuid PRIMARY KEY,
    officer_id  text        NOT NULL,
    client      jsonb,                  -- PII: names, birth date, contact; NULL once purged
    situation   text,                   -- PII: free text; NULL once purged
    need_codes  text[]      NOT NULL,
    urgency     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_case_officer ON referral_case (officer_id, created_at DESC);

CREATE TABLE consent (
    id          uuid PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES referral_case (id),
    given_by    text        NOT NULL,
    method      text        NOT NULL,
    given_at    timestamptz NOT NULL,
    scopes      text[]      NOT NULL,
    recorded_by text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz
);
CREATE INDEX consent_case ON consent (case_id);

CREATE TABLE referral (
    id          uuid PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES referral_case (id),
    program_id  uuid        NOT NULL,
    agency_id   uuid        NOT NULL,
    officer_id  text        NOT NULL,
    status      text        NOT NULL,
    urgency     text        NOT NULL,
    version     int         NOT NULL DEFAULT 1,
    respond_by  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_case_id ON referral (case_id);
CREATE INDEX referral_agency_inbox ON referral (agency_id, created_at DESC, id DESC);
CREATE INDEX referral_officer ON referral (officer_id, updated_at DESC, id DESC);

CREATE TABLE referral_history (
    id          bigserial PRIMARY KEY,
    referral_id uuid        NOT NULL REFERENCES referral (id),
    from_status text,
    to_status   text        NOT NULL,
    version     int         NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    reason_code text,
    note        text,
    at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (referral_id, version)
);

-- A retried POST with the same Idempotency-Key returns the first answer and does nothing more.
CREATE TABLE idempotency_key (
    officer_id   text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (officer_id, key)
);
