"""The HTTP app every service shares: problem+json errors (domain errors mapped in one table per
service), every route guarded by the service's access table, rate limits, health and metrics,
and ops' views: parked events (listed, replayed), the flow figures and what operators did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from bridges_kit import (
    access,
    cors,
    dead_letters,
    flow,
    openapi,
    operator_log,
    ops_endpoints,
    throttling,
    tracing,
)
from bridges_kit.access import Caller
from bridges_kit.edge import EdgeMiddleware, EdgeRoute
from bridges_kit.faults import OUTAGE_ERRORS, describe
from bridges_kit.fields import BigintId
from bridges_kit.problems import (
    PROBLEM_JSON,
    Conflict,
    ErrorMap,
    NotFound,
    Problem,
    Unprocessable,
    problem_body,
)
from bridges_kit.shedding import InFlightLimit

if TYPE_CHECKING:
    from bridges_kit.runtime import Runtime

log = structlog.get_logger(__name__)

RETRY_AFTER_S = "2"
CLIENT_CLOSED_REQUEST = 499


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def get_runtime(request: Request) -> Runtime[Any, Any]:
    runtime: Runtime[Any, Any] = request.app.state.runtime
    return runtime


# Dependencies are `async def` though they do not wait: FastAPI runs a plain `def` dependency in
# a worker thread, a thread hop per request for nothing.


async def unit_of_work(request: Request) -> Any:
    """A dependency: a new unit of work of the service (services alias it with their type)."""
    return get_runtime(request).uow()


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = get_runtime(request).pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
"""A dependency: the service's pool, for reads that change nothing."""


def router(**kwargs: Any) -> APIRouter:
    """A service's router: its JSON bodies are checked at the edge (see `bridges_kit.edge`)."""
    return APIRouter(route_class=EdgeRoute, **kwargs)


def _install_error_handlers(app: FastAPI, error_map: ErrorMap) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status in (429, 503) or "retry_after_s" in exc.extensions:
            headers = {"Retry-After": str(exc.extensions.get("retry_after_s", RETRY_AFTER_S))}
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

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency_unavailable", error=describe(exc))
        return problem_response(
            problem_body(
                503,
                "Service unavailable",
                "a dependency is unavailable; retry shortly",
                "unavailable",
                request.url.path,
            ),
            {"Retry-After": RETRY_AFTER_S},
        )

    for outage in OUTAGE_ERRORS:
        app.add_exception_handler(outage, _unavailable)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left before its body arrived: nothing was done and nobody reads an answer.
        # Counted as 499 (nginx's "client closed request"), never as a server error.
        route = getattr(request.scope.get("route"), "path", "unmatched")  # never the URL itself
        log.info("client_disconnected", method=request.method, route=route)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error")
        return problem_response(
            problem_body(
                500, "Internal error", "an unexpected error occurred", "internal", request.url.path
            )
        )


class NotReady(Problem):
    status, title, slug = 503, "Not ready", "not-ready"


def _health_router() -> APIRouter:
    health = APIRouter(tags=["health"])

    @health.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @health.get(
        "/readyz",
        summary="PostgreSQL and NATS are reachable",
        responses=openapi.problem_responses(NotReady),
    )
    async def readyz(request: Request) -> Response:
        checks = await get_runtime(request).readiness()
        if all(checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        not_ready = NotReady("a dependency is not reachable", checks=checks)
        return problem_response(not_ready.body("/readyz"), {"Retry-After": RETRY_AFTER_S})

    return health


def _dead_letter_router() -> APIRouter:
    ops = router(prefix="/events/dead-letters", tags=["ops"])

    @ops.get("", summary="Events a consumer of this service parked (newest first)")
    async def list_dead_letters(
        pool: Pool,
        consumer: Annotated[str | None, Query(max_length=100)] = None,
        replayed: bool | None = None,
        before_id: BigintId | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dead_letters.DeadLetterOut]:
        return await dead_letters.list_letters(
            pool,
            consumer=consumer,
            replayed=replayed,
            before_id=before_id,
            limit=limit,
        )

    @ops.get("/{letter_id}", summary="One parked event, with why it was parked")
    async def get_dead_letter(pool: Pool, letter_id: BigintId) -> dead_letters.DeadLetterOut:
        return await dead_letters.get_letter(pool, letter_id)

    @ops.post(
        "/replay",
        summary="Apply the open parked events again, oldest first (after a fix)",
        description="At most `limit` of them; each is applied as `POST .../{letter_id}/replay` "
        "applies one, and one that fails again stays parked and is listed with why.",
    )
    async def replay_open_dead_letters(
        request: Request, actor: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100
    ) -> ReplayReport:
        runtime = get_runtime(request)
        report = ReplayReport(replayed=0, failed=[])
        for letter_id in await dead_letters.open_ids(runtime.pool, limit):
            try:
                await dead_letters.replay_by(runtime.pool, runtime.dispatchers, letter_id, actor)
                report.replayed += 1
            except dead_letters.REFUSALS as exc:
                report.failed.append(ReplayFailure(id=letter_id, error=str(exc)))
        return report

    @ops.post("/{letter_id}/replay", summary="Apply a parked event again (after a fix)")
    async def replay_dead_letter(
        request: Request, letter_id: BigintId, actor: Caller
    ) -> dead_letters.DeadLetterOut:
        runtime = get_runtime(request)
        return await dead_letters.replay_by(runtime.pool, runtime.dispatchers, letter_id, actor)

    return ops


class ReplayFailure(BaseModel):
    id: int
    error: str


class ReplayReport(BaseModel):
    replayed: int
    failed: list[ReplayFailure]


def _ops_view_router() -> APIRouter:
    ops = router(prefix="/ops", tags=["ops"])

    @ops.get(
        "/summary",
        summary="This service's flow at a glance: its gauges of state, sampled now",
        description="The same samplers as the Prometheus gauges of `/metrics` (same names and "
        "labels), read now from the database and JetStream, for every replica together.",
    )
    async def ops_summary(request: Request) -> flow.FlowSummary:
        return await flow.sample_now(get_runtime(request))

    @ops.get("/actions", summary="What ops and admins did here (newest first)")
    async def ops_actions(
        pool: Pool,
        action: Annotated[str | None, Query(max_length=100)] = None,
        before_id: BigintId | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[operator_log.OperatorActionOut]:
        return await operator_log.list_actions(
            pool, action=action, before_id=before_id, limit=limit
        )

    return ops


DEAD_LETTER_ERRORS: ErrorMap = {
    dead_letters.DeadLetterNotFound: NotFound,
    dead_letters.NotReplayable: Unprocessable,
    dead_letters.ReplayFailed: Conflict,
}


def create_app(
    runtime: Runtime[Any, Any],
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    error_map: ErrorMap,
    access_table: access.Table,
    version: str = "0.1.0",
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """The service's FastAPI app; its lifespan starts and stops the runtime.

    `access_table` says who may call each route (see `bridges_kit.access`): a route without an
    entry, or an entry without a route, refuses the app. `body_limits` raises the request-size
    limit for particular paths (e.g. bulk import)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    settings = runtime.settings
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        # a missing or extra slash is a 404, not a redirect to a URL built from the Host header
        redirect_slashes=False,
        **(ops_endpoints.HIDDEN_DOCS if settings.ops_only else {}),
        dependencies=[Depends(access.authorize)],  # before any route's own dependencies
    )
    app.state.runtime = runtime
    _install_error_handlers(app, {**DEAD_LETTER_ERRORS, **error_map})
    app.include_router(_health_router())
    app.include_router(
        ops_endpoints.routes(
            app,
            runtime.metrics,
            ops_only=settings.ops_only,
            scrape_token=settings.metrics_token,
            verify=access.verified_caller,
        )
    )
    app.include_router(_ops_view_router())
    if runtime.dispatchers:
        app.include_router(_dead_letter_router())
    for service_router in routers:
        app.include_router(service_router)
    throttling.install(app, throttling.RateLimits.from_settings(settings))
    access.install(app, access_table)
    openapi.document(app, access_table)
    # inside the edge: a shed request still gets the security headers and a correlation id
    app.add_middleware(InFlightLimit, max_in_flight=runtime.settings.max_in_flight)
    app.add_middleware(
        EdgeMiddleware,
        service=runtime.settings.service_name,
        metrics=runtime.metrics,
        max_body_bytes=runtime.settings.max_body_bytes,
        body_limits=body_limits,
        # browsers are told to keep to HTTPS only where the service is published on HTTPS
        hsts=(runtime.settings.public_url or "").startswith("https://"),
    )
    # outermost, so the edge's own refusals (413, 400) reach the browser app readable too
    cors.allow_origins(app, runtime.settings.cors_allow_origins)
    _trace(app, runtime)
    return app


def _trace(app: FastAPI, runtime: Runtime[Any, Any]) -> None:
    """A span per request (route templates as names, no query strings, health and metrics
    left out) when the service traces; its spans record with the service's tracer."""
    app.add_middleware(tracing.BindTracer, tracer=runtime.tracer)
    if runtime.tracer_provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=runtime.tracer_provider,
        server_request_hook=tracing.scrub_http_span,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["receive", "send"],
    )
