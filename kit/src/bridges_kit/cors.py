"""Cross-origin access for the browser app: exactly the allowed origins, the methods and headers
the API uses, and the response headers a script must be able to read."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from bridges_kit.logs import CORRELATION_HEADER

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    CORRELATION_HEADER,
)
# A cross-origin script reads only the safelisted response headers unless told otherwise: the
# app needs versions (ETag), where a created thing is, when to retry, and what to quote to ops.
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Retry-After",
    "Idempotent-Replayed",
    "Bridges-Results-Capped",
    "Bridges-Warning",
    "Bridges-Programs-Rewritten",
    CORRELATION_HEADER,
)
PREFLIGHT_MAX_AGE_S = 600


def allow_origins(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer CORS requests from `origins` (nothing is added when there are none)."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=list(METHODS),
        allow_headers=list(REQUEST_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        # bearer tokens, never cookies: credentialed requests stay refused
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_S,
    )


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute URL; None for '' and paths (this origin already)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
