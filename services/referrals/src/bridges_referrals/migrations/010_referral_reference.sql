-- Each referral's short human reference, e.g. BR-7K3F9 (bridges_referrals.references): the same
-- for the officer and the agency, so a phone call can be matched. Not personal data.
-- The service draws it with Python's `secrets`; this function is the column's default, for the
-- referrals filed before it and for a replica of an older version still filing during an upgrade.
-- Two random bytes per character (gen_random_uuid's random bytes 0-5 and 9-12; 6 and 8 carry
-- the version and variant), so the modulo bias is under 1/4000.
CREATE FUNCTION new_referral_reference() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT 'BR-' || string_agg(
        substr('23456789ABCDEFGHJKMNPQRSTVWXYZ',
               1 + ((get_byte(b, i) * 256 + get_byte(b, i + 1)) % 30), 1), '' ORDER BY i)
    FROM (SELECT uuid_send(gen_random_uuid()) AS b) AS random,
         unnest(ARRAY[0, 2, 4, 9, 11]) AS i
$$;

ALTER TABLE referral ADD COLUMN reference text NOT NULL DEFAULT new_referral_reference();

-- Existing referrals drew theirs just now: draw again for any that came out twice.
DO $$
BEGIN
    LOOP
        UPDATE referral SET reference = new_referral_reference()
        WHERE id IN (SELECT id FROM (
                         SELECT id, row_number() OVER (PARTITION BY reference ORDER BY id) AS n
                         FROM referral) AS drawn
                     WHERE n > 1);
        EXIT WHEN NOT FOUND;
    END LOOP;
END $$;

-- Unique, and how a reference is looked up (always stored upper case, as the service writes it).
CREATE UNIQUE INDEX referral_reference ON referral (reference);
