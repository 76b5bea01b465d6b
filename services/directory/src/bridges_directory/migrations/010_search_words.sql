-- Search matches words as the tablet's offline search does (bridges_directory.matching, and
-- app/src/matching.js): the service computes each field's stems (Snowball 2 English, the same on
-- both sides) and PostgreSQL indexes them as they are ('simple'), instead of stemming with its
-- own Snowball version. Typo correction moves from a trigram similarity search over every word
-- to an index of the vocabulary's words with up to two letters deleted: a query word's own
-- deletions find, by equality, every word within two edits of it (then checked exactly), once
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

-- Every single word the directory's programs hold, folded, with its stem (no words with digits,
-- no run-together pairs, no stop words): what a misspelled word may be corrected to.
CREATE TABLE search_word (
    word text PRIMARY KEY,
    stem text NOT NULL
);
CREATE INDEX search_word_stem ON search_word (stem);
-- Each word with up to two of its letters deleted (the word itself included).
CREATE TABLE search_word_variant (
    variant text NOT NULL,
    word    text NOT NULL,
    PRIMARY KEY (variant, word)
);

-- Rows written before this migration hold words, not stems: the next load (`seed`, an import)
-- rewrites them; until then they are found by their unstemmed words.
UPDATE service SET content_hash = '';
