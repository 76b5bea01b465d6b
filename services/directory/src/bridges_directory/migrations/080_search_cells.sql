-- "A word near a point" read every site in the radius's box (an index-only scan of thousands
-- at 25 km in a town) and then each one's program to test its words. Each link now also holds
-- the cell of a 10 km grid its point is in (on the earth's own x, y, z axes, as `earth` is:
-- no poles or date line to special-case) and its program's words, in one GIN index: the sites
-- in the cells around a point that hold one of the words are the intersection of two posting
-- lists, and only those are measured. `indexing.search_cells` computes the same cells.
CREATE FUNCTION search_cell(point earth) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((floor(cube_ll_coord(point, 1) / 10000)::bigint + 1024) * 2048
        + (floor(cube_ll_coord(point, 2) / 10000)::bigint + 1024)) * 2048
       + (floor(cube_ll_coord(point, 3) / 10000)::bigint + 1024);

-- an array (of one), so that one GIN index holds it beside the words
ALTER TABLE service_at_location
    ADD COLUMN cells bigint[] GENERATED ALWAYS AS (ARRAY[search_cell(earth)]) STORED,
    -- its program's stems, without their places or weights (written with the link)
    ADD COLUMN search_stems tsvector;
UPDATE service_at_location sal SET search_stems = strip(s.search_vector)
FROM service s WHERE s.id = sal.service_id;
CREATE INDEX service_at_location_cell_words ON service_at_location
    USING gin (cells, search_stems) WHERE earth IS NOT NULL;
