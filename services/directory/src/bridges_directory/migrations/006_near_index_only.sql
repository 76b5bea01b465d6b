-- "Near me" reads, for every location in the circle, its point and id, then the services at it.
-- Locations are scattered over the heap (written in service order), so at 100k services these
-- were a heap page each; with the id in the point index and the service id in the link index,
-- both are read from the indexes alone.
CREATE INDEX location_earth_id ON location USING gist (earth) INCLUDE (id) WHERE earth IS NOT NULL;
DROP INDEX location_earth;
CREATE INDEX service_at_location_by_location ON service_at_location (location_id)
    INCLUDE (service_id);
DROP INDEX service_at_location_location;
