"""The HTTP edge every service shares: problem+json errors, correlation ids, body limits,
metrics, auth dependencies and the health endpoints."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridges_kit.auth import Principal
from bridges_kit.logs import (
    CORRELATION_HEADER,
    bind_correlation_id,
    correlation_id,
    reset_correlation_id,
)
from bridges_kit.problems import PROBLEM_JSON, ErrorMap, Problem, problem_body

if TYPE_CHECKING:
    from bridges_kit.runtime import Runtime

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="JWT issued by the Bridges identity provider")


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def current_principal(
    request: Request, _: Annotated[Any, Depends(_bearer)] = None
) -> Principal:
    principal: Principal = await get_runtime(request).verifier.verify(
        request.headers.get("authorization")
    )
    structlog.contextvars.bind_contextvars(actor=principal.sub, role=principal.role.value)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
RuntimeDep = Annotated["Runtime", Depends(get_runtime)]


class PayloadTooLarge(Exception):
    pass


class EdgeMiddleware:
    """Correlation id in and out, request size limit, request metrics. Pure ASGI (cheap)."""

    def __init__(
        self, app: ASGIApp, runtime: Runtime, body_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cid = headers.get(CORRELATION_HEADER.lower().encode(), b"").decode("latin-1")[:128]
        token = bind_correlation_id(cid or None)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.runtime.settings.service_name)
        started = time.perf_counter()
        status = 500
        limit = self.body_limits.get(scope["path"], self.runtime.settings.max_body_bytes)
        declared = headers.get(b"content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                status = 413
                await _too_large(scope, send, limit)
                return
            seen = 0

            async def limited_receive() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise PayloadTooLarge
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [
                        *message["headers"],
                        (CORRELATION_HEADER.encode(), (correlation_id() or "").encode()),
                    ]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except PayloadTooLarge:
                status = 413
                await _too_large(scope, send, limit)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics = self.runtime.metrics
            metrics.http_requests(method=scope["method"], route=path, status=str(status)).inc()
            metrics.http_latency(method=scope["method"], route=path).observe(elapsed)
            reset_correlation_id(token)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    response = problem_response(
        problem_body(
            413,
            "Payload too large",
            f"request bodies are limited to {limit} bytes",
            "payload-too-large",
            scope.get("path"),
        )
    )
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _install_error_handlers(app: FastAPI, error_map: ErrorMap) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.body(request.url.path), headers)

    for domain_error, problem_type in error_map.items():

        async def _mapped(
            request: Request, exc: Exception, problem_type: type[Problem] = problem_type
        ) -> JSONResponse:
            extensions = getattr(exc, "problem_extensions", {})
            return problem_response(problem_type(str(exc), **extensions).body(request.url.path))

        app.add_exception_handler(domain_error, _mapped)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]  # the offending input is deliberately not echoed: it may hold personal data
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                problem_body(
                    400,
                    "Malformed JSON",
                    "the request body is not valid JSON",
                    "malformed-json",
                    request.url.path,
                )
            )
        return problem_response(
            problem_body(
                422,
                "Invalid request",
                "the request does not match the schema",
                "validation",
                request.url.path,
                errors=errors,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem_response(
            problem_body(
                exc.status_code, title, str(exc.detail), f"http-{exc.status_code}", request.url.path
            ),
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.InterfaceError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency_unavailable", error=repr(exc))
        return problem_response(
            problem_body(
                503,
                "Service unavailable",
                "a dependency is unavailable; retry shortly",
                "unavailable",
                request.url.path,
            ),
            {"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error")
        return problem_response(
            problem_body(
                500, "Internal error", "an unexpected error occurred", "internal", request.url.path
            )
        )


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="PostgreSQL and NATS are reachable")
    async def readyz(request: Request) -> Response:
        checks = await get_runtime(request).readiness()
        if all(checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(
            problem_body(
                503,
                "Not ready",
                "a dependency is not reachable",
                "not-ready",
                "/readyz",
                checks=checks,
            )
        )

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        return Response(
            get_runtime(request).metrics.render(), media_type="text/plain; version=0.0.4"
        )

    return router


def create_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    error_map: ErrorMap,
    version: str = "0.1.0",
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """The service's FastAPI app; its lifespan starts and stops the runtime.

    `body_limits` raises the request-size limit for particular paths (e.g. bulk import)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    _install_error_handlers(app, error_map)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    app.add_middleware(EdgeMiddleware, runtime=runtime, body_limits=body_limits)
    return app
