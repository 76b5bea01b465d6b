#!/usr/bin/env bash
# The wheels the images install when their build has no network (see deploy/wheels/README.md):
# for each image, the locked requirements with their hashes (uv export), the wheels themselves
# (pip download, kept between runs: only what is missing is fetched) and the workspace
# packages to build from the source the Dockerfile copies (with hatchling, their backend).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/deploy/wheels
UV=${UV:-$ROOT/.tools/bin/uv}
PIP=${PIP:-python3 -m pip}
# published as source only: downloaded as their locked sdist (hash checked), built in the image
# by setuptools from here (nkeys: the NATS NKEY signatures nats-py signs in with)
SDIST_ONLY=nkeys
started=$SECONDS
for package in directory referrals notifications devstack; do
  "$UV" export --frozen --no-dev --no-editable --package "bridges-$package" --no-emit-workspace \
    --format requirements-txt --quiet --output-file "$OUT/requirements-$package.txt"
  "$UV" export --frozen --no-dev --no-editable --package "bridges-$package" --no-hashes \
    --format requirements-txt --quiet | grep -E '^\./' >"$OUT/workspace-$package.txt"
  # what is already here is enough most times: only a new lock goes to the index
  download=($PIP download --quiet --disable-pip-version-check --no-deps --only-binary=:all:
            --no-binary="$SDIST_ONLY" --dest "$OUT" --requirement "$OUT/requirements-$package.txt")
  "${download[@]}" --no-index --find-links "$OUT" 2>/dev/null || "${download[@]}"
done
ls "$OUT"/hatchling-*.whl >/dev/null 2>&1 \
  || $PIP download --quiet --disable-pip-version-check --only-binary=:all: --dest "$OUT" hatchling
ls "$OUT"/setuptools-*.whl >/dev/null 2>&1 \
  || $PIP download --quiet --disable-pip-version-check --only-binary=:all: --dest "$OUT" \
       "setuptools>=68"
echo "wheels: $(ls "$OUT"/*.whl | wc -l) in deploy/wheels ($((SECONDS - started)) s)"
