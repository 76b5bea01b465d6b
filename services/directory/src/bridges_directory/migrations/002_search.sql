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
    ADD COLUMN trigram_text text NOT NULL DEFAULT '',
    ADD COLUMN trigram_name text NOT NULL DEFAULT '',
    ADD COLUMN term_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN languages text[] NOT NULL DEFAULT '{}',
    ADD COLUMN service_areas text[] NOT NULL DEFAULT '{}',
    ADD COLUMN minimum_age numeric,
    ADD COLUMN maximum_age numeric;

DROP INDEX service_name_trgm;
CREATE INDEX service_search ON service USING gin (search_vector);
CREATE INDEX service_trigram ON service USING gin (trigram_text gin_trgm_ops);
CREATE INDEX service_terms ON service USING gin (term_ids);
CREATE INDEX service_languages ON service USING gin (languages);
CREATE INDEX service_areas ON service USING gin (service_areas);
CREATE INDEX service_by_name ON service (name, id);

CREATE INDEX location_earth ON location USING gist (ll_to_earth(latitude, longitude))
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

-- Weekly opening slots, each kept in an IANA zone or a fixed UTC offset (minutes).
CREATE TABLE schedule_slot (
    service_id     uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    isodow         smallint NOT NULL CHECK (isodow BETWEEN 1 AND 7),
    opens          time NOT NULL,
    closes         time NOT NULL,
    overnight      boolean NOT NULL,
    timezone       text,
    utc_offset_min integer NOT NULL DEFAULT 0,
    valid_from     date,
    valid_to       date
);
CREATE INDEX schedule_slot_service ON schedule_slot (service_id);

ALTER TABLE taxonomy_term ADD COLUMN last_modified timestamptz NOT NULL DEFAULT now();
ALTER TABLE location ADD COLUMN last_modified timestamptz NOT NULL DEFAULT now();

-- Rows written before this migration lack the derived columns: the next load rewrites them.
UPDATE service SET content_hash = '';
