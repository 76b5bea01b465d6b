-- Search: weighted full text, trigram typo tolerance, filters, distance and opening hours.
CREATE EXTENSION IF NOT EXISTS cube WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS earthdistance WITH SCHEMA public;

ALTER TABLE service
    ADD COLUMN search_a text NOT NULL DEFAULT '',
    ADD COLUMN search_b text NOT NULL DEFAULT '',
    ADD COLUMN search_c text NOT NULL DEFAULT '',
    ADD COLUMN search_d text NOT NULL DEFAULT '',
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, search_a), 'A')
        || setweight(to_tsvector('english'::regconfig, search_b), 'B')
        || setweight(to_tsvector('english'::regconfig, search_c), 'C')
        || setweight(to_tsvector('english'::regconfig, search_d), 'D')
    ) STORED,
    ADD COLUMN term_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN languages text[] NOT NULL DEFAULT '{}',
    ADD COLUMN service_areas text[] NOT NULL DEFAULT '{}',
    ADD COLUMN minimum_age numeric,
    ADD COLUMN maximum_age numeric;

DROP INDEX service_name_trgm;
CREATE INDEX service_search ON service USING gin (search_vector);
CREATE INDEX service_terms ON service USING gin (term_ids);
CREATE INDEX service_languages ON service USING gin (languages);
CREATE INDEX service_areas ON service USING gin (service_areas);
CREATE INDEX service_by_name ON service (name, id);

ALTER TABLE location ADD COLUMN earth earth;  -- ll_to_earth(latitude, longitude), kept on write
CREATE INDEX location_earth ON location USING gist (earth) WHERE earth IS NOT NULL;

-- Opening hours as minutes of the week (0 = Monday 00:00, 10080 = next Monday), in local time
-- of an IANA zone (or a fixed UTC offset when timezone = ''). "Open at T" is one GiST lookup
-- per zone in use (opening_zone lists them; there are few).
CREATE TABLE opening_hours (
    service_id     uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    timezone       text NOT NULL DEFAULT '',
    utc_offset_min integer NOT NULL DEFAULT 0,
    week           int4multirange NOT NULL,
    valid_from     date,
    valid_to       date
);
CREATE INDEX opening_hours_service ON opening_hours (service_id);
CREATE INDEX opening_hours_week ON opening_hours USING gist (week);

CREATE TABLE opening_zone (
    timezone       text NOT NULL,
    utc_offset_min integer NOT NULL,
    PRIMARY KEY (timezone, utc_offset_min)
);

-- Every word (and run-together word pair of a name) the directory holds: the vocabulary that
-- corrects typos in queries ("conseling" -> "counseling") whatever the directory's size.
CREATE TABLE search_word (word text PRIMARY KEY);
CREATE INDEX search_word_trigram ON search_word USING gin (word gin_trgm_ops);

-- A query's words as a tsquery: each unknown word replaced by the closest known one, then at
-- least half of the words required (any one of one or two), e.g. "food bank for a family with
-- a toddler" must match three of food, bank, famili, toddler.
CREATE FUNCTION search_query(words text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $$
DECLARE
    corrected text[] := '{}';
    word_in text;
    best text;
    lexemes text[];
    n integer;
    need integer;
    expression text;
BEGIN
    FOREACH word_in IN ARRAY words[1:8] LOOP
        best := NULL;
        IF length(word_in) >= 4 AND NOT EXISTS (
            SELECT 1 FROM search_word WHERE word = word_in
        ) THEN
            SELECT word INTO best FROM search_word
            WHERE word % word_in ORDER BY word <-> word_in, word LIMIT 1;
        END IF;
        corrected := corrected || coalesce(best, word_in);
    END LOOP;
    lexemes := tsvector_to_array(
        to_tsvector('english'::regconfig, array_to_string(corrected, ' ')));
    n := coalesce(cardinality(lexemes), 0);
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    need := CASE WHEN n <= 2 THEN 1 ELSE ceil(n / 2.0)::integer END;
    WITH RECURSIVE pick(items, last) AS (
        SELECT ARRAY[i], i FROM generate_series(1, n) AS i
        UNION ALL
        SELECT pick.items || j, j FROM pick, generate_series(pick.last + 1, n) AS j
        WHERE cardinality(pick.items) < need
    )
    SELECT string_agg(
        '(' || array_to_string(ARRAY(SELECT quote_literal(lexemes[k]) FROM unnest(items) AS k),
                               ' & ') || ')', ' | ')
    INTO expression FROM pick WHERE cardinality(items) = need;
    RETURN expression::tsquery;
END $$;

ALTER TABLE taxonomy_term ADD COLUMN last_modified timestamptz NOT NULL DEFAULT now();
ALTER TABLE location ADD COLUMN last_modified timestamptz NOT NULL DEFAULT now();

-- Rows written before this migration lack the derived columns: the next load rewrites them.
UPDATE service SET content_hash = '';
