-- "Near me" went from each point in the circle to its location's links (a lookup per point,
-- half of the search's time with a few thousand points in 25 km). Each link now carries its
-- location's point (kept equal on every write of the link or of the location), so one index
-- answers which services have a site in the circle.
ALTER TABLE service_at_location ADD COLUMN earth earth;
UPDATE service_at_location sal SET earth = l.earth FROM location l WHERE l.id = sal.location_id;
CREATE INDEX service_at_location_earth ON service_at_location USING gist (earth)
    INCLUDE (service_id) WHERE earth IS NOT NULL;
-- the point index of locations is no longer read by search
DROP INDEX location_earth_id;
