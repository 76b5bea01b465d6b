#!/usr/bin/env bash
# `make compose-test`: docker-compose.yml run for real on this machine, with no image registry.
#   1. a Docker engine and a compose client: Debian's docker.io and docker-compose, installed
#      when missing; dockerd started when none runs (and stopped again at the end if so)
#   2. base images from Debian packages (images.sh), the locked wheels (wheels.sh), the app
#   3. every image built locally through the compose file's own build sections
#   4. tests/compose/: the whole stack, then the cluster overlay, driven from outside
#      (Chromium, HTTPS through Caddy, the receiver's log, docker inspect); `down -v` after each
# Every step's time is printed at the end. Caches: the base images (rebuilt when their recipe
# changes), deploy/wheels/ (only missing wheels are fetched), Docker's build cache.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUN=${BRIDGES_COMPOSE_RUN:-/tmp/bridges-compose-test}
mkdir -p "$RUN"
# Debian's docker CLI (20.10) first: it builds with BuildKit inside dockerd, no plugin needed
export PATH=/usr/bin:/usr/sbin:$PATH
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
T0=$SECONDS
TIMINGS=()
step() {  # step NAME COMMAND...: run it, remember how long it took
  local name=$1 started=$SECONDS
  shift
  echo "== compose-test: $name"
  "$@"
  TIMINGS+=("$(printf '%-34s %5d s' "$name" $((SECONDS - started)))")
}
report() {
  echo "== compose-test timings"
  for line in "${TIMINGS[@]}"; do echo "   $line"; done
  echo "   $(printf '%-34s %5d s' 'in all' $((SECONDS - T0)))"
}

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  [ ${#missing[@]} = 0 ] && { echo "docker.io, docker-compose and mmdebstrap are installed"; return; }
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" \
    || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
}

STARTED_DOCKERD=
start_engine() {
  if docker info >/dev/null 2>&1; then echo "a Docker engine is running"; return; fi
  # no iptables: containers reach each other on their compose network and the host reaches
  # Caddy's published ports on 127.0.0.1; nothing is routed beyond this machine
  $sudo dockerd --iptables=false --ip-masq=false --pidfile "$RUN/dockerd.pid" >"$RUN/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && { echo "dockerd started (log: $RUN/dockerd.log)"; return; }; sleep 1; done
  echo "dockerd did not start:" >&2; tail -20 "$RUN/dockerd.log" >&2; exit 1
}
stop_engine() {
  [ -n "$STARTED_DOCKERD" ] || return 0
  echo "== compose-test: stopping the dockerd it started"
  $sudo kill "$(cat "$RUN/dockerd.pid")" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || return 0; sleep 1; done
}
finish() {
  local status=$?
  stop_engine
  report
  exit $status
}
trap finish EXIT
trap 'exit 143' TERM INT  # so that finish runs (and a dockerd started here stops) when killed

clear_leftovers() {
  # an interrupted run's projects (bridges-ct-*) would hold the test network's subnet
  local projects
  projects=$( { docker ps -a --format '{{.Label "com.docker.compose.project"}}'
                docker network ls --format '{{.Label "com.docker.compose.project"}}'
                docker volume ls --format '{{.Label "com.docker.compose.project"}}'; } \
              | grep '^bridges-ct' | sort -u || true)
  for project in $projects; do
    echo "removing $project, left by an interrupted run"
    docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker network rm >/dev/null
    docker volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker volume rm >/dev/null
  done
}

build_images() {
  # the build-time environment of the test's env file (the same the test brings up)
  local env=(BRIDGES_PYTHON_IMAGE=bridges-local/python:bookworm BRIDGES_CADDY_IMAGE=bridges-local/caddy:bookworm
             BRIDGES_NODE_IMAGE=bridges-local/python:bookworm BRIDGES_APP_SOURCE=dist
             BRIDGES_MAILPIT_IMAGE=bridges-local/mailpit:test)
  local compose=(docker-compose --project-directory "$ROOT" -f docker-compose.yml -f deploy/compose-test/docker-compose.test.yml)
  # the variables the files require, for `build` only (the test writes the real ones)
  env+=(BRIDGES_OIDC_ISSUER=x BRIDGES_OIDC_JWKS_URL=x BRIDGES_OIDC_ROLE_VALUES={} BRIDGES_OIDC_ORIGIN=x
        BRIDGES_SECRETS_DIR="$RUN" BRIDGES_PUBLISH_HTTPS_PORT=443 BRIDGES_TEST_IDP_PORT=8104)
  env "${env[@]}" "${compose[@]}" build idp  # the mail stand-in is built on it
  env "${env[@]}" "${compose[@]}" build directory-migrate referrals-migrate notifications-migrate caddy mailpit
  env "${env[@]}" "${compose[@]}" --profile ops build ops
}

step "tools (apt-get when missing)" install_tools
step "engine" start_engine
step "leftovers of an interrupted run" clear_leftovers
step "base images (mmdebstrap)" deploy/compose-test/images.sh
step "wheels" deploy/compose-test/wheels.sh
step "images (docker-compose build)" build_images
step "the stack, then the cluster" env BRIDGES_COMPOSE_TEST=1 .venv/bin/pytest tests/compose/test_stack.py tests/compose/test_cluster.py -p no:cacheprovider -x -s -v --timeout 1500
