"""An OTLP/HTTP trace receiver for tests: what the services export, decoded as a collector
would (tests/test_tracing.py, the leak test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.types import Receive, Scope, Send

from bridges_devstack.receiver import InProcessServer, read_body
from bridges_devstack.servers import free_port
from bridges_devstack.testing import eventually


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: POST /v1/traces, protobuf, as a collector."""

    port: int = field(default_factory=free_port)
    spans: list[ReceivedSpan] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive) or b""
        status = 404
        if scope["path"] == "/v1/traces" and scope["method"] == "POST":
            self.raw.append(body)
            self._decode(body)
            status = 200
        answer = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
        headers = [(b"content-type", b"application/x-protobuf")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _decode(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            service=resource.get("service.name", ""),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@asynccontextmanager
async def serving() -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=receiver.port, log_config=None, lifespan="off"
    )
    server = InProcessServer(config)
    task = asyncio.create_task(server.serve())
    await eventually(polled(lambda: server.started), timeout_s=10, interval_s=0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


@contextmanager
def exporting_to(receiver: OtlpReceiver) -> Iterator[None]:
    """While services are built here, their runtimes read these OTEL_* variables: traces go to
    `receiver`, exported every 100 ms."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.port}")
        env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        env.setenv("OTEL_TRACES_SAMPLER", "always_on")
        env.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        env.delenv("OTEL_SERVICE_NAME", raising=False)
        yield


def polled(probe: Any) -> Any:
    """A plain predicate as `eventually` polls it."""

    async def run() -> Any:
        return probe()

    return run
