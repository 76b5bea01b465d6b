-- The agency inbox sorted by urgency (emergency, high, routine; then least time left), keyset-paged.
ALTER TABLE referral ADD COLUMN urgency_rank smallint GENERATED ALWAYS AS (
    CASE urgency WHEN 'emergency' THEN 0 WHEN 'high' THEN 1 ELSE 2 END) STORED;
CREATE INDEX referral_inbox_urgency ON referral (agency_id, urgency_rank, respond_by, id);

-- A blind index of each family's name (bridges_referrals.name_index): keyed hashes of the folded
-- words of the client's given and family names, so staff can search a name that is stored only
-- sealed. The key is derived from a key-encryption key of the key ring (`key_id`), rotated with
-- it. Deleted with the family's data (consent withdrawn, retention).
CREATE TABLE family_name_token (
    case_id uuid  NOT NULL REFERENCES referral_case (id),
    key_id  text  NOT NULL,
    token   bytea NOT NULL,
    PRIMARY KEY (case_id, key_id, token)
);
CREATE INDEX family_name_token_lookup ON family_name_token (token);
CREATE INDEX family_name_token_key ON family_name_token (key_id);

-- Cases filed before the index: the service indexes them at start-up (their names are sealed).
CREATE TABLE unindexed_case (case_id uuid PRIMARY KEY REFERENCES referral_case (id));
INSERT INTO unindexed_case (case_id) SELECT id FROM referral_case WHERE client IS NOT NULL;

-- A list that showed families' data is one audit entry naming its referrals: find them by referral.
CREATE INDEX audit_log_listed ON audit_log USING gin ((detail -> 'referrals'));
