# One image per service, built from the same file (so are the ops tools, SERVICE=devstack):
#   docker build --build-arg SERVICE=referrals -t bridges/referrals .
# PYTHON_IMAGE: any Debian-based image with python3 (3.11+) and its venv module; docker-compose.yml
# passes BRIDGES_PYTHON_IMAGE (default the official python:3.11-slim-bookworm).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first, in a layer of their own that is reused until the lockfile changes.
# deploy/wheels/ holds only its README in a checkout: the dependencies come from PyPI through
# uv and uv.lock. Where a build has no network, `make compose-test` fills it first with the
# same locked wheels (hashes checked) and they are installed from there.
COPY deploy/wheels/ /wheels/
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY kit/pyproject.toml kit/
COPY devstack/pyproject.toml devstack/
COPY services/directory/pyproject.toml services/directory/
COPY services/referrals/pyproject.toml services/referrals/
COPY services/notifications/pyproject.toml services/notifications/
RUN test -n "${SERVICE}" \
 && if [ -f "/wheels/requirements-${SERVICE}.txt" ]; then \
      python3 -m venv /app/.venv \
      && /app/.venv/bin/pip install --quiet --no-index --find-links /wheels \
           --require-hashes -r "/wheels/requirements-${SERVICE}.txt"; \
    else \
      python3 -m pip install --no-cache-dir uv==0.13.9 \
      && uv sync --frozen --no-dev --no-install-workspace --package "bridges-${SERVICE}"; \
    fi
# Then the workspace's own packages (this service, the kit, the schema).
COPY shared shared
COPY kit kit
COPY devstack devstack
COPY services services
RUN if [ -f "/wheels/requirements-${SERVICE}.txt" ]; then \
      /app/.venv/bin/pip install --quiet --no-index --find-links /wheels --no-deps \
        $(cat "/wheels/workspace-${SERVICE}.txt"); \
    else \
      uv sync --frozen --no-dev --no-editable --package "bridges-${SERVICE}"; \
    fi \
 && /app/.venv/bin/python -m compileall -q /app/.venv >/dev/null

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN groupadd --system --gid 10001 bridges \
 && useradd --system --uid 10001 --gid bridges --home-dir /app --no-create-home bridges
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BRIDGES_SERVICE_MODULE=bridges_${SERVICE} \
    BRIDGES_HTTP_HOST=0.0.0.0 \
    BRIDGES_ENVIRONMENT=production
WORKDIR /app
USER 10001:10001
# the service answers for itself (/readyz: PostgreSQL and NATS reachable), under any
# orchestrator or none; docker-compose.yml says the same
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=6 \
    CMD ["python", "-m", "bridges_kit.healthcheck"]
# `docker compose run <service> migrate|token|seed ...` reaches the same CLI.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$BRIDGES_SERVICE_MODULE\" \"$@\"", "--"]
CMD ["serve"]
