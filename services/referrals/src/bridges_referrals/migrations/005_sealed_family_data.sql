-- Families' data sealed at rest (bridges_kit.sealing; docs/security.md, "Family data at rest").
-- Each case has its own data key, stored wrapped under a key-encryption key from the key ring;
-- the client, the situation, the guardian's name and every note are sealed under it (bytea).
ALTER TABLE referral_case
    ADD COLUMN data_key    bytea,  -- the case's data key, wrapped; NULL once erased (shredded)
    ADD COLUMN data_key_id text;   -- the key-encryption key that wraps it (also inside data_key)
CREATE INDEX referral_case_data_key_id ON referral_case (data_key_id)
    WHERE data_key_id IS NOT NULL;  -- rotation finds the cases still under an old key

-- What was stored before is kept as legacy values (a 0x00 byte, then the plaintext) until the
-- service seals it at start-up, case by case, from the queue below.
ALTER TABLE referral_case
    ALTER COLUMN client TYPE bytea USING '\x00'::bytea || convert_to(client::text, 'UTF8'),
    ALTER COLUMN situation TYPE bytea USING '\x00'::bytea || convert_to(situation, 'UTF8');
ALTER TABLE consent
    ALTER COLUMN given_by_name TYPE bytea USING '\x00'::bytea || convert_to(given_by_name, 'UTF8'),
    ALTER COLUMN withdrawal_note TYPE bytea
        USING '\x00'::bytea || convert_to(withdrawal_note, 'UTF8');
ALTER TABLE referral_history
    ALTER COLUMN note TYPE bytea USING '\x00'::bytea || convert_to(note, 'UTF8');

CREATE TABLE unsealed_case (case_id uuid PRIMARY KEY REFERENCES referral_case (id));
INSERT INTO unsealed_case (case_id)
SELECT c.id FROM referral_case c
WHERE c.client IS NOT NULL OR c.situation IS NOT NULL
   OR EXISTS (SELECT 1 FROM consent k WHERE k.case_id = c.id
              AND (k.given_by_name IS NOT NULL OR k.withdrawal_note IS NOT NULL))
   OR EXISTS (SELECT 1 FROM referral r JOIN referral_history h ON h.referral_id = r.id
              WHERE r.case_id = c.id AND h.note IS NOT NULL);
