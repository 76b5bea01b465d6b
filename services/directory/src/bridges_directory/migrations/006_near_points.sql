-- "Near me" went from each location point in the circle to its links (a lookup per point, and a
-- heap page per point: locations are written in service order, scattered). Each link now carries
-- its location's point (kept equal on every write of the link or of the location), so one
-- index-only scan answers which services have a site in the circle.
ALTER TABLE service_at_location ADD COLUMN earth earth;
UPDATE service_at_location sal SET earth = l.earth FROM location l WHERE l.id = sal.location_id;
CREATE INDEX service_at_location_earth ON service_at_location USING gist (earth)
    INCLUDE (service_id) WHERE earth IS NOT NULL;
-- search no longer reads the locations' own points
DROP INDEX location_earth;
