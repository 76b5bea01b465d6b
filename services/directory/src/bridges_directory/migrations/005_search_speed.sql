-- Search at 100k+ services.
--
-- Typo correction looks each unknown word up among the vocabulary's trigrams, so it costs per
-- word and grows with the vocabulary. English stop words ("with", "from") carry no meaning in a
-- search and were "corrected" into words they are not ("with" -> "withdrawal"), and words with
-- digits (postal codes, program numbers) are codes, not typos: neither is corrected now, and
-- the vocabulary no longer keeps words with digits (half of it in a generated region).
DELETE FROM search_word WHERE word ~ '[0-9]';

CREATE OR REPLACE FUNCTION search_query(words text[]) RETURNS tsquery
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
        IF length(word_in) >= 4
           AND word_in !~ '[0-9]'
           AND to_tsvector('english'::regconfig, word_in) <> ''::tsvector  -- not a stop word
           AND NOT EXISTS (SELECT 1 FROM search_word WHERE word = word_in) THEN
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
