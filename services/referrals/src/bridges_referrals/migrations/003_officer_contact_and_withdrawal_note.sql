-- Families without a phone are reached through the officer: the agency sees the officer's contact.
ALTER TABLE referral_case ADD COLUMN officer_contact jsonb;
-- The officer's note on a withdrawal stays with the consent (never in the agency's history view).
ALTER TABLE consent ADD COLUMN withdrawal_note text;  -- PII: purged with the case
-- The officer's own list, keyset-paged by when each referral was filed.
CREATE INDEX referral_officer_created ON referral (officer_id, created_at DESC, id DESC);
