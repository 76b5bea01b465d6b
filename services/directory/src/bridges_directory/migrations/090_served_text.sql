-- Each program's document as the JSON text search serves it. A page of results wrote every
-- document out from jsonb again (20 programs, ~3 KB each: a sixth of PostgreSQL's work for a
-- two-word search at ~120k programs); the text is written once, with the document, and a
-- search copies it. Searches near a place still write theirs (the distance goes inside).
ALTER TABLE service ADD COLUMN served text GENERATED ALWAYS AS (document::text) STORED;
