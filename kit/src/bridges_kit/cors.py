"""Cross-origin access for the browser app: exactly the allowed origins, the methods and headers
the API uses, and the response headers a script must be able to read. A refused preflight is a
400 problem+json; every preflight answer carries the security headers (it is answered before
the edge: bridges_kit.edge)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.responses import Response

from bridges_kit.edge import secure_headers
from bridges_kit.logs import CORRELATION_HEADER
from bridges_kit.problems import PROBLEM_JSON, Problem

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


class CorsRefused(Problem):
    status, title, slug = 400, "Cross-origin request refused", "cors-refused"


class _Cors(CORSMiddleware):
    """Starlette's CORS, answering its refusals (`Disallowed CORS origin`, text/plain) as
    problems and every preflight with the security headers."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 200:  # no Access-Control-Allow-*: nothing here is allowed
            refusal = CorsRefused(
                f"{bytes(answer.body).decode()}: this API answers its own app's origins, "
                f"with the methods ({', '.join(METHODS)}) and headers it uses"
            )
            answer = JSONResponse(
                refusal.body(), refusal.status, {"Vary": "Origin"}, media_type=PROBLEM_JSON
            )
        answer.raw_headers = secure_headers(answer.raw_headers)
        return answer


def allow_origins(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer CORS requests from `origins` (nothing is added when there are none)."""
    if not origins:
        return
    app.add_middleware(
        _Cors,
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
