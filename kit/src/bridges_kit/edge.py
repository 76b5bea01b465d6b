"""What every request passes before a route sees it: a well-formed correlation id, a size limit,
request metrics, and text PostgreSQL can store — no NUL character, no lone surrogate, no
nesting deeper than `MAX_JSON_DEPTH`, in the query string, the path or a JSON body. Refusals
are problem+json and happen before anything is read or written."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridges_kit import text
from bridges_kit.logs import (
    CORRELATION_HEADER,
    bind_correlation_id,
    correlation_id,
    reset_correlation_id,
)
from bridges_kit.metrics import method_label
from bridges_kit.problems import PROBLEM_JSON, Problem

if TYPE_CHECKING:
    from bridges_kit.metrics import Metrics

MAX_JSON_DEPTH = 64


class MalformedJson(Problem):
    status, title, slug = 400, "Malformed JSON", "malformed-json"


class MalformedRequest(Problem):
    status, title, slug = 400, "Malformed request", "malformed-request"


class UnstorableText(Problem):
    status, title, slug = 422, "Invalid request", "validation"


MAX_REPORTED = 100


def check_depth(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    too_deep = text.depth(value, max_depth)
    if too_deep is not None:
        where = text.json_path(too_deep[:max_depth])
        raise MalformedJson(f"the JSON nests deeper than {max_depth} levels at {where}")


def check_json(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise a problem if decoded JSON nests deeper than `max_depth` or holds unstorable text
    (every place is listed, as validation errors are)."""
    check_depth(value, max_depth)
    found = list(itertools.islice(text.unstorable_in(value), MAX_REPORTED))
    if found:
        where, reason = found[0]
        raise UnstorableText(
            f"{len(found)} text value(s) cannot be stored: {reason} ({text.json_path(where)})",
            errors=[
                {
                    "location": ["body", *location],
                    "path": text.json_path(location),
                    "message": why,
                    "type": "text",
                }
                for location, why in found
            ],
        )


def parse_json(body: bytes, *, check_text: bool = True) -> Any:
    """Decode a JSON body and check it (see `check_json`); malformed JSON is a 400. With
    `check_text` off only the nesting is checked, for a caller that reports text itself."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise MalformedJson(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"the request body is not valid JSON: {exc}") from None
    if check_text:
        check_json(value)
    else:
        check_depth(value)
    return value


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class EdgeRoute(APIRoute):
    """Routes whose JSON body is decoded and checked by `parse_json` before validation."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            if "json" in content_type.split(";")[0]:
                body = await request.body()
                if body:  # FastAPI reads the decoded value from here (Request.json caches it)
                    request._json = parse_json(body)
            return await handler(request)

        return checked


def _unstorable_part(scope: Scope) -> str | None:
    """The part of the URL (path or query) that is not storable text, if any."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    for name, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
        decoded = unquote_to_bytes(raw.replace(b"+", b" "))
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {name} is not valid UTF-8"
        if "\x00" in text:
            return f"the {name} holds a NUL character"
    return None


# On every answer: no MIME sniffing, no referrer leaving with a link, no framing.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def secure_headers(
    headers: list[tuple[bytes, bytes]], *, hsts: bool = False
) -> list[tuple[bytes, bytes]]:
    """`headers` plus the security headers it lacks. An answer that says nothing about caching
    is not cached (`no-store`): what an API answers may be personal; public answers say so."""
    present = {name.lower() for name, _ in headers}
    extra = [(n, v) for n, v in (*SECURITY_HEADERS, *((HSTS,) if hsts else ())) if n not in present]
    if b"cache-control" not in present:
        extra.append((b"cache-control", b"no-store"))
    return [*headers, *extra]


class EdgeMiddleware:
    """Correlation id in and out, URL text checks, request size limit (declared or chunked),
    security headers, request metrics. Pure ASGI (cheap)."""

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        metrics: Metrics,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
        hsts: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cid = headers.get(CORRELATION_HEADER.lower().encode(), b"").decode("latin-1")
        token = bind_correlation_id(cid)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.service)
        started = time.perf_counter()
        status = 500
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        declared = headers.get(b"content-length")
        hsts = self.hsts

        async def secured(message: Message) -> None:  # every answer, the edge's own refusals too
            if message["type"] == "http.response.start":
                message["headers"] = secure_headers(list(message.get("headers", [])), hsts=hsts)
            await send(message)

        try:
            refusal = _unstorable_part(scope)
            if refusal is not None:
                status = 400
                await refuse(scope, secured, MalformedRequest(refusal))
                return
            if declared is not None and declared.isdigit() and int(declared) > limit:
                status = 413
                await refuse(scope, secured, _too_large(limit))
                return
            seen = 0

            async def limited_receive() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _PayloadTooLarge
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [
                        *message.get("headers", []),
                        (CORRELATION_HEADER.encode(), (correlation_id() or "").encode()),
                    ]
                await secured(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _PayloadTooLarge:
                status = 413
                await refuse(scope, secured, _too_large(limit))
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            method = method_label(scope["method"])
            self.metrics.http_requests(method=method, route=path, status=str(status)).inc()
            self.metrics.http_latency(method=method, route=path).observe(elapsed)
            reset_correlation_id(token)


class _PayloadTooLarge(Exception):
    pass


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


def _too_large(limit: int) -> Problem:
    return PayloadTooLarge(f"request bodies are limited to {limit} bytes")


async def refuse(scope: Scope, send: Send, problem: Problem) -> None:
    """Answer `problem` at the edge, before any route (with `Retry-After` when it says when)."""
    headers = {CORRELATION_HEADER: correlation_id() or ""}
    if "retry_after_s" in problem.extensions:
        headers["Retry-After"] = str(problem.extensions["retry_after_s"])
    response = JSONResponse(
        problem.body(scope.get("path")),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
