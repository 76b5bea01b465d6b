-- The geocoder (GET /places) looks for the start of a postal code, town or street line among the
-- locations' physical addresses. Their words, kept beside each location and indexed by trigrams,
-- narrow that to the few locations worth reading the addresses of.
CREATE FUNCTION location_place_text(document jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(lower(concat_ws(' ', a->>'address_1', a->>'city',
                                              a->>'state_province', a->>'postal_code')), ' '), '')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(document->'addresses') = 'array'
                                   THEN document->'addresses' ELSE '[]'::jsonb END) AS a
    WHERE jsonb_typeof(a) = 'object' AND coalesce(a->>'address_type', 'physical') = 'physical'
$$;

ALTER TABLE location
    ADD COLUMN place_text text NOT NULL GENERATED ALWAYS AS (location_place_text(document)) STORED;
CREATE INDEX location_place_text ON location USING gin (place_text gin_trgm_ops);
