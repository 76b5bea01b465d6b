-- Agencies keep their own listing true: an intake closed "until" a day (reopened by the
-- directory that day), who changed what and when (the directory's audit log), and the monthly
-- "still correct?" requests whose emailed link confirms an agency's programs once.
ALTER TABLE service ADD COLUMN capacity_until date;
CREATE INDEX service_capacity_until ON service (capacity_until) WHERE capacity_until IS NOT NULL;
UPDATE service SET capacity_until = (document -> 'x_bridges' ->> 'capacity_until')::date
WHERE document -> 'x_bridges' ? 'capacity_until';

CREATE TABLE service_change (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    service_id  uuid,                  -- NULL: a change of many programs (an import)
    version     bigint,                -- the program's version after the change
    action      text NOT NULL,         -- created | replaced | edited | capacity | confirmed |
                                       -- reopened | deleted | imported
    actor_sub   text NOT NULL,         -- the token's subject; "bridges" (the directory itself);
                                       -- "review-link:<id>" (an emailed confirmation link)
    actor_role  text NOT NULL,
    actor_name  text,
    agency_id   uuid,                  -- the actor's agency (agency staff, a link)
    changes     jsonb NOT NULL DEFAULT '{}'  -- path -> [before, after] (public directory data)
);
CREATE INDEX service_change_service ON service_change (service_id, id DESC);

-- The audit log is appended to, never changed.
CREATE FUNCTION service_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the directory audit log is append-only';
END $$;
CREATE TRIGGER service_change_append_only BEFORE UPDATE OR DELETE ON service_change
    FOR EACH ROW EXECUTE FUNCTION service_change_append_only();

CREATE TABLE listing_review (
    id            uuid PRIMARY KEY,
    agency_id     uuid        NOT NULL,
    requested_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    requested_by  text        NOT NULL,   -- "schedule", or the admin's token subject
    programs      integer     NOT NULL,
    confirmed_at  timestamptz             -- its link was used (once)
);
CREATE INDEX listing_review_agency ON listing_review (agency_id, requested_at DESC);
