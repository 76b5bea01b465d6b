#!/usr/bin/env bash
# Base images made from Debian packages, for machines that cannot pull from an image registry:
# each is a root filesystem that mmdebstrap builds from this host's own apt sources and streams
# as a tar straight into `docker import`. docker-compose.yml keeps naming the upstream images;
# `make compose-test` substitutes these through the BRIDGES_*_IMAGE variables
# (deploy/compose-test/env).
#
#   deploy/compose-test/images.sh            build what is missing or out of date
#
# An image is rebuilt only when its recipe (packages, settings, hooks, RECIPE_VERSION) changes:
# the recipe's hash is kept in the image's label org.bridges.recipe.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DOCKER=${DOCKER:-docker}
SUITE=bookworm
RECIPE_VERSION=1
# this host's apt sources (deb822 or one-line), so the images come from the mirror apt uses here
SOURCES=${BRIDGES_APT_SOURCES:-}
for candidate in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -n "$SOURCES" ] || { [ -s "$candidate" ] && SOURCES=$candidate; } || true
done

# no apt lists or caches in an image
CLEAN='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb'

# name | packages | customize hook (run with the root filesystem as $1) | docker import
# --change lines (';'-separated)
IMAGES=(
  "python|python3 python3-venv ca-certificates tzdata|true|ENV LANG=C.UTF-8;CMD [\"python3\"]"
  # no default cluster: the entrypoint initialises \$PGDATA on the volume's first start
  "postgres|postgresql-15 tzdata ca-certificates|rm -rf \"\$1\"/var/lib/postgresql/15 \"\$1\"/etc/postgresql/15 && install -d -o \$(chroot \"\$1\" id -u postgres) -g \$(chroot \"\$1\" id -g postgres) \"\$1\"/var/lib/postgresql/data \"\$1\"/var/run/postgresql \"\$1\"/docker-entrypoint-initdb.d && install -m 0755 \"$HERE\"/postgres-entrypoint.sh \"\$1\"/usr/local/bin/docker-entrypoint.sh|ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin;ENV PGDATA=/var/lib/postgresql/data;ENV LANG=C.UTF-8;USER postgres;ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"];CMD [\"postgres\"]"
  "nats|nats-server wget ca-certificates|true|ENTRYPOINT [\"nats-server\"];CMD [\"--jetstream\"]"
  "caddy|caddy wget ca-certificates|install -d \"\$1\"/data \"\$1\"/config \"\$1\"/etc/caddy \"\$1\"/srv|ENV XDG_CONFIG_HOME=/config;ENV XDG_DATA_HOME=/data;WORKDIR /srv;CMD [\"caddy\", \"run\", \"--config\", \"/etc/caddy/Caddyfile\", \"--adapter\", \"caddyfile\"]"
)

build() {
  local name=$1 packages=$2 hook=$3 changes=$4
  local tag="bridges-local/$name:$SUITE"
  local recipe
  recipe=$( { echo "$RECIPE_VERSION|$packages|$hook|$changes"; cat "$SOURCES"; [ "$name" != postgres ] || cat "$HERE"/postgres-entrypoint.sh; } | sha256sum | cut -c1-16)
  if [ "$($DOCKER image inspect -f '{{index .Config.Labels "org.bridges.recipe"}}' "$tag" 2>/dev/null)" = "$recipe" ]; then
    echo "images: $tag is up to date"
    return
  fi
  local started=$SECONDS
  echo "images: building $tag from Debian $SUITE ($packages)"
  local args=(--change "LABEL org.bridges.recipe=$recipe")
  IFS=';' read -r -a lines <<<"$changes"
  for line in "${lines[@]}"; do args+=(--change "$line"); done
  # mmdebstrap writes the tar to stdout and cleans up after itself (even when interrupted)
  mmdebstrap --quiet --variant=minbase --include="${packages// /,}" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="$hook" --customize-hook="$CLEAN" \
    "$SUITE" - "$SOURCES" | $DOCKER import "${args[@]}" - "$tag" >/dev/null
  echo "images: $tag built in $((SECONDS - started)) s"
}

for spec in "${IMAGES[@]}"; do
  IFS='|' read -r name packages hook changes <<<"$spec"
  build "$name" "$packages" "$hook" "$changes"
done
