-- Search matches words as the tablet's offline search does (bridges_directory.matching, and
-- app/src/matching.js): the service computes each field's stems (Snowball 2 English, the same on
-- both sides) and PostgreSQL indexes them as they are ('simple'), instead of stemming with its
-- own Snowball version. Typo correction moves from a trigram similarity search over every word
-- to an index of the vocabulary's stems with up to two letters deleted: a query stem's own
-- deletions find, by equality, every stem within two edits of it (then checked exactly), once
-- per query word and cached by the service.
DROP FUNCTION search_query(text[]);
DROP TABLE search_word;

ALTER TABLE service DROP COLUMN search_vector;  -- its index goes with it
ALTER TABLE service ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, search_a), 'A')
    || setweight(to_tsvector('simple'::regconfig, search_b), 'B')
    || setweight(to_tsvector('simple'::regconfig, search_c), 'C')
    || setweight(to_tsvector('simple'::regconfig, search_d), 'D')
) STORED;
CREATE INDEX service_search ON service USING gin (search_vector);

-- Every stem of a single word the directory holds (no words with digits, no run-together pairs).
CREATE TABLE search_stem (stem text PRIMARY KEY);
-- Each stem with up to two of its letters deleted (the stem itself included).
CREATE TABLE search_stem_variant (
    variant text NOT NULL,
    stem    text NOT NULL,
    PRIMARY KEY (variant, stem)
);

-- Rows written before this migration hold words, not stems: the next load (`seed`, an import)
-- rewrites them; until then they are found by their unstemmed words.
UPDATE service SET content_hash = '';
