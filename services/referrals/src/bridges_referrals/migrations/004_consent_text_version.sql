-- Which consent text the family was shown or read (e.g. "2026-11/en"); NULL for consent recorded
-- before the tablet app, or by a client that does not send it.
ALTER TABLE consent ADD COLUMN text_version text;
