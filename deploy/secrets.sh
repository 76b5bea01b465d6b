#!/bin/sh
# Makes the secret files docker-compose.yml mounts (once; existing files are kept): random
# passwords for PostgreSQL and each service's role, the metrics scrape token, the key the
# directory and notifications share for listing-review links, Grafana's admin password, the
# data-key ring that seals families' data (made by the referrals image), and the bus's: each
# service's NATS key, the server's users (nats-users.conf, rewritten each run: a new release may
# grant otherwise), the bus's CA and its nodes' certificate (made by the ops image).
#   deploy/secrets.sh [folder]        (default deploy/secrets, or $BRIDGES_SECRETS_DIR)
# The folder is 0700 (only you); the files 0644 so the containers' users can read them.
# Back the data-key ring up apart from the database backups (docs/operations.md#backup).
set -eu
dir=${1:-${BRIDGES_SECRETS_DIR:-deploy/secrets}}
mkdir -p "$dir" && chmod 0700 "$dir"
random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32; }
for name in postgres_password directory_db_password referrals_db_password \
            notifications_db_password metrics_token listing_link_key grafana_admin_password; do
  if [ ! -s "$dir/$name" ]; then
    random >"$dir/$name"
    chmod 0644 "$dir/$name"
    echo "made $dir/$name"
  fi
done
if [ ! -s "$dir/data-keys.json" ]; then
  # the ring is made by the referrals image itself (its `keys add`), as uid 10001
  docker compose build referrals-migrate >/dev/null
  docker run --rm --user "$(id -u):$(id -g)" -v "$(cd "$dir" && pwd):/out" \
    "bridges/referrals:${BRIDGES_VERSION:-latest}" keys add --file /out/data-keys.json
  chmod 0644 "$dir/data-keys.json"
fi
# the bus: made by the ops image (`bridges bus-secrets`), as you; nats-ca.key stays here,
# never mounted (it signs a renewed node certificate: docs/operations.md#nats-users-and-tls)
docker compose --profile ops build ops >/dev/null
docker run --rm --user "$(id -u):$(id -g)" -v "$(cd "$dir" && pwd):/out" \
  "bridges/ops:${BRIDGES_VERSION:-latest}" bus-secrets --to /out
