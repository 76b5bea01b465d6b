"""Traces (OpenTelemetry): one referral is one trace across the three services.

    HTTP request (FastAPI instrumentation)
      unit of work ........................ the transaction, the outbox rows written in it
    outbox publish <subject> .............. the relay, a child of the request that wrote the row
      consume <subject> ................... the consumer, in another service: the context
        unit of work                         travels in the NATS message's `traceparent` header
          fan-out                           (notifications: who is told)
    deliver webhook|email ................. the delivery worker, later: a child of the trace the
      POST (httpx instrumentation)          event began in (the CloudEvent's `traceparent`)

Configured by the standard variables and off when no endpoint is set:
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_PROTOCOL
(`http/protobuf`, the default, or `grpc`), OTEL_SERVICE_NAME (default `bridges-<service>`),
OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED.

No family data goes into a span: attributes are ids, subjects, event types, routes and counts.
Query strings are dropped from HTTP spans (a place typed in `GET /places?q=` may be a family's
address), exceptions are recorded by class only, SQL without its parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

__all__ = ["SpanKind", "current_traceparent", "extract", "inject", "span", "start_span"]

NO_TRACER: Tracer = trace.NoOpTracer()
_tracer: ContextVar[Tracer] = ContextVar("bridges_tracer", default=NO_TRACER)
TRACEPARENT = "traceparent"
# attributes of HTTP server spans that may carry what a client typed: replaced by the path
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
_QUERY_ATTRIBUTES = ("url.query",)


def enabled(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    )


def _exporter(env: Mapping[str, str]) -> SpanExporter:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol != "http/protobuf":
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r}: use http/protobuf or grpc")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


def provider_from_env(service: str, env: Mapping[str, str]) -> TracerProvider | None:
    """A tracer provider exporting over OTLP as the OTEL_* variables say; None when off.
    The exporters and the sampler read their own variables from the process environment."""
    if not enabled(env):
        return None
    name = env.get("OTEL_SERVICE_NAME", "").strip() or f"bridges-{service}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(env)))
    return provider


def bind(tracer: Tracer) -> None:
    """Make `tracer` the one this task (and the tasks it starts) records spans with."""
    _tracer.set(tracer)


def current_tracer() -> Tracer:
    return _tracer.get()


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span of the bound tracer (a no-op when tracing is off). An exception marks it failed
    with the exception's class only: messages may quote data."""
    with current_tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def start_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """A span that is not made current (the caller ends it); with no parent, a new trace."""
    return current_tracer().start_span(
        name,
        context=parent or otel_context.Context(),
        kind=kind,
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=False,
    )


def inject(headers: Mapping[str, str] | None = None, of: Span | None = None) -> dict[str, str]:
    """`headers` with the trace context of `of` (default: the current span) added as W3C
    `traceparent`, if there is one."""
    carrier = dict(headers or {})
    context = trace.set_span_in_context(of) if of is not None else None
    propagate.inject(carrier, context=context)
    return carrier


def current_traceparent() -> str | None:
    return inject().get(TRACEPARENT)


def extract(traceparent: str | None) -> otel_context.Context | None:
    """The context a `traceparent` names (None for none, or a malformed one)."""
    if not traceparent:
        return None
    extracted = propagate.extract({TRACEPARENT: traceparent})
    if not trace.get_current_span(extracted).get_span_context().is_valid:
        return None
    return extracted


def extract_headers(headers: Mapping[str, str] | None) -> otel_context.Context | None:
    return extract((headers or {}).get(TRACEPARENT))


def scrub_http_span(span: Span, scope: dict[str, Any]) -> None:
    """FastAPI's server request hook: an HTTP span keeps the path, never the query string."""
    if not span.is_recording():
        return
    path = scope.get("path", "")
    for key in _URL_ATTRIBUTES:
        span.set_attribute(key, path)
    for key in _QUERY_ATTRIBUTES:
        span.set_attribute(key, "")


def _scrub_client_request(span: Span, request: Any) -> None:
    """httpx's request hook: a webhook URL's query may hold the agency's own token."""
    if span.is_recording():
        url = str(getattr(request, "url", ""))
        span.set_attribute("url.full", url.split("?", 1)[0])
        span.set_attribute("http.url", url.split("?", 1)[0])


_process_provider: TracerProvider | None = None


def install_process_wide(provider: TracerProvider) -> bool:
    """The first service of a process to trace also traces what is instrumented per process:
    asyncpg's queries (SQL text only, no parameters) and outgoing httpx requests. A process
    runs one service in production; in a test process with several, those spans go to the
    first one's provider. True if this call installed it."""
    global _process_provider
    if _process_provider is not None:
        return False
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    _process_provider = provider
    instrumentor: Any = AsyncPGInstrumentor  # untyped
    instrumentor(capture_parameters=False).instrument(tracer_provider=provider)
    return True


def uninstall_process_wide() -> None:
    global _process_provider
    if _process_provider is None:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor: Any = AsyncPGInstrumentor  # untyped
    instrumentor().uninstrument()
    _process_provider = None


def instrument_http_client(client: Any) -> None:
    """Trace `client`'s requests (an httpx.AsyncClient) when this process traces; the trace
    context goes out in `traceparent`, a query string never into a span."""
    if _process_provider is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(
            client, tracer_provider=_process_provider, request_hook=_scrub_client_request
        )


class BindTracer:
    """ASGI middleware: each request records its spans with the service's tracer."""

    def __init__(self, app: Any, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        bind(self.tracer)
        await self.app(scope, receive, send)
