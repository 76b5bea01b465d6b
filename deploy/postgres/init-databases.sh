#!/bin/sh
# First start of the PostgreSQL container: one database and one login role per service, each
# role's password read from its secret file (/run/secrets/<service>_db_password).
# Each service can reach only its own database (no cross-service joins, by construction).
set -eu

for service in directory referrals notifications; do
  password="$(cat "/run/secrets/${service}_db_password")"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
       -v role="bridges_${service}" -v db="bridges_${service}" -v password="${password}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
\connect :"db"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
ALTER SCHEMA public OWNER TO :"role";
SQL
done
