"""/metrics and the API's docs (/openapi.json, /docs, /redoc): open in development, for ops and
admins only where `ops_only` is set (the default in production). Prometheus may instead scrape
/metrics with the static bearer token `BRIDGES_METRICS_TOKEN`."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import SecretStr

from bridges_kit.metrics import Metrics
from bridges_kit.principal import Principal
from bridges_schema import Role

Verify = Callable[[Request], Awaitable[Principal]]

# FastAPI's own documentation routes, replaced by guarded ones when ops-only.
HIDDEN_DOCS: dict[str, Any] = {"openapi_url": None, "docs_url": None, "redoc_url": None}
# Relative, so they resolve behind a proxy's path prefix too (and never from the Host header).
OPENAPI_URL = "openapi.json"


def _ops_or_admin(verify: Verify) -> Callable[[Request], Awaitable[None]]:
    async def ops_or_admin(request: Request) -> None:
        (await verify(request)).require(Role.OPS, Role.ADMIN)

    return ops_or_admin


def _scraper_or_ops(
    scrape_token: SecretStr | None, verify: Verify
) -> Callable[[Request], Awaitable[None]]:
    expected = f"Bearer {scrape_token.get_secret_value()}".encode() if scrape_token else None
    ops_or_admin = _ops_or_admin(verify)

    async def scraper_or_ops(request: Request) -> None:
        sent = request.headers.get("authorization", "").encode("latin-1")
        if expected is not None and hmac.compare_digest(sent, expected):
            return
        await ops_or_admin(request)

    return scraper_or_ops


def routes(
    app: FastAPI,
    metrics: Metrics,
    *,
    ops_only: bool,
    scrape_token: SecretStr | None,
    verify: Verify,
) -> APIRouter:
    """/metrics always; /openapi.json, /docs and /redoc too when `ops_only` (create `app` with
    `HIDDEN_DOCS` then, so FastAPI's open ones do not exist)."""
    ops = APIRouter(tags=["ops"])
    metrics_guard = [Depends(_scraper_or_ops(scrape_token, verify))] if ops_only else []

    @ops.get(
        "/metrics",
        summary="Prometheus metrics",
        dependencies=metrics_guard,
        response_class=PlainTextResponse,  # documented as text, as it is answered
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    if not ops_only:
        return ops
    docs = APIRouter(include_in_schema=False, dependencies=[Depends(_ops_or_admin(verify))])

    @docs.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @docs.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{app.title} - docs")

    @docs.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} - docs")

    ops.include_router(docs)
    return ops
