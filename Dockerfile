# syntax=docker/dockerfile:1
# One image per service, built from the same file:
#   docker build --build-arg SERVICE=referrals -t bridges-referrals .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
# The whole workspace is needed to resolve the lockfile; only one service is installed.
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY kit kit
COPY devstack devstack
COPY services services
RUN test -n "${SERVICE}" \
 && uv sync --frozen --no-dev --no-editable --package "bridges-${SERVICE}"

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN groupadd --system --gid 10001 bridges \
 && useradd --system --uid 10001 --gid bridges --home-dir /app --no-create-home bridges
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BRIDGES_SERVICE_MODULE=bridges_${SERVICE} \
    BRIDGES_HTTP_HOST=0.0.0.0 \
    BRIDGES_ENVIRONMENT=production
WORKDIR /app
USER 10001:10001
# `docker compose run <service> migrate|token|seed ...` reaches the same CLI.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$BRIDGES_SERVICE_MODULE\" \"$@\"", "--"]
CMD ["serve"]
