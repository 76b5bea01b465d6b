-- A program closed to referrals says until when and why (the agency's words, not personal
-- data), so a refused referral can tell the officer (directory events carry both).
ALTER TABLE program
    ADD COLUMN capacity_until date,
    ADD COLUMN capacity_note  text;
