-- The program directory, aligned with Open Referral HSDS 3.0.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE taxonomy (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    document    jsonb NOT NULL
);

CREATE TABLE taxonomy_term (
    id          uuid PRIMARY KEY,
    code        text,
    name        text NOT NULL,
    parent_id   uuid REFERENCES taxonomy_term (id) DEFERRABLE INITIALLY DEFERRED,
    taxonomy_id uuid REFERENCES taxonomy (id),
    document    jsonb NOT NULL
);
CREATE INDEX taxonomy_term_parent ON taxonomy_term (parent_id);
CREATE UNIQUE INDEX taxonomy_term_code ON taxonomy_term (taxonomy_id, code);

CREATE TABLE organization (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    document      jsonb NOT NULL,
    last_modified timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE service (
    id                  uuid PRIMARY KEY,
    organization_id     uuid NOT NULL REFERENCES organization (id),
    name                text NOT NULL,
    status              text NOT NULL,
    -- Bridges extension (x_bridges)
    agency_id           uuid,
    accepting_referrals boolean NOT NULL DEFAULT true,
    capacity_status     text NOT NULL DEFAULT 'available',
    last_verified       date,
    -- change tracking: version increases with every change and travels on the events
    version             bigint NOT NULL DEFAULT 1,
    content_hash        text NOT NULL,
    document            jsonb NOT NULL,
    last_modified       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_organization ON service (organization_id);
CREATE INDEX service_agency ON service (agency_id);
CREATE INDEX service_modified ON service (last_modified);
CREATE INDEX service_name_trgm ON service USING gin (lower(name) gin_trgm_ops);

CREATE TABLE location (
    id        uuid PRIMARY KEY,
    name      text,
    latitude  double precision,
    longitude double precision,
    document  jsonb NOT NULL
);

CREATE TABLE service_at_location (
    id          uuid PRIMARY KEY,
    service_id  uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES location (id)
);
CREATE INDEX service_at_location_service ON service_at_location (service_id);
CREATE INDEX service_at_location_location ON service_at_location (location_id);

CREATE TABLE attribute (
    id               uuid PRIMARY KEY,
    service_id       uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    taxonomy_term_id uuid NOT NULL REFERENCES taxonomy_term (id)
);
CREATE INDEX attribute_service ON attribute (service_id);
CREATE INDEX attribute_term ON attribute (taxonomy_term_id);
