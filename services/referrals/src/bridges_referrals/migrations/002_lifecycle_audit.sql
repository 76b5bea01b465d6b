-- Lifecycle bookkeeping, inbox keyset indexes, SLA sweep, consent withdrawal, retention, audit.
ALTER TABLE referral
    ADD COLUMN overdue_at        timestamptz,  -- when referral.overdue was emitted (once)
    ADD COLUMN first_response_at timestamptz,  -- the agency's first decision
    ADD COLUMN closed_at         timestamptz,  -- reached a final status
    ADD COLUMN agency_not_reached_at timestamptz;  -- every notification to the agency failed

CREATE INDEX referral_inbox_status ON referral (agency_id, status, created_at DESC, id DESC);
CREATE INDEX referral_inbox_due ON referral (agency_id, respond_by, id);
CREATE INDEX referral_sla_due ON referral (respond_by)
    WHERE overdue_at IS NULL AND status IN ('requested', 'received');
CREATE INDEX referral_closed ON referral (closed_at) WHERE closed_at IS NOT NULL;

ALTER TABLE referral_case
    ADD COLUMN consent_withdrawn_at timestamptz,
    ADD COLUMN purged_at            timestamptz;

ALTER TABLE consent ADD COLUMN given_by_name text;  -- PII (a guardian's name): purged with the case

-- Who read or changed what, when, from which request. Append-only (trigger and privileges) and
-- hash-chained: each row's hash covers the previous row's hash, so an edit shows.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    action      text        NOT NULL,
    referral_id uuid,
    case_id     uuid,
    request_id  text,
    detail      jsonb       NOT NULL DEFAULT '{}',
    prev_hash   text        NOT NULL,
    hash        text        NOT NULL UNIQUE
);
CREATE INDEX audit_log_referral ON audit_log (referral_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
