"""One referral is one trace across the three services: the services export over OTLP/HTTP
(configured by the standard OTEL_* variables) to a local receiver that decodes what they send,
and one trace id holds the intake request, the outbox publish, the notifications consumer, the
fan-out and the webhook delivery. No family data is in any span."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.testing import Infra, eventually
from bridges_schema import Role
from tests.conftest import Stack, start_stack
from tests.otlp import OtlpReceiver, exporting_to, polled, serving
from tests.scenario import FAMILY_NAME, PHONE, create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def otlp() -> AsyncIterator[OtlpReceiver]:
    async with serving() as receiver:
        yield receiver


@pytest.fixture
async def traced_stack(infra: Infra, services_factory: Any, otlp: OtlpReceiver) -> Stack:
    """The three services built while the process's OTEL_* variables point at the receiver
    (each runtime reads them when it is built)."""
    with exporting_to(otlp):
        return await start_stack(infra, services_factory)


async def test_one_referral_is_one_trace_across_the_three_services(
    traced_stack: Stack, otlp: OtlpReceiver
):
    stack = traced_stack
    receiver = await WebhookReceiver().start()
    try:
        program = await create_program(stack)
        await register_endpoint(stack, receiver.url)
        async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
            filed = await c.post(
                "/referrals",
                json=intake([program["id"]]),
                headers={"Idempotency-Key": f"trace-{uuid.uuid4()}"},
            )
        assert filed.status_code == 201, filed.text
        referral_id = filed.json()["referrals"][0]["id"]
        await eventually(lambda: _arrived(receiver, 1), timeout_s=20)
        traceparent = receiver.requests[0].headers["traceparent"]
    finally:
        await receiver.stop()
    trace_id = traceparent.split("-")[1]

    def complete() -> bool:
        names = {s.name for s in otlp.trace(trace_id)}
        return {"fan-out", "deliver webhook"} <= names and any(n.startswith("POST") for n in names)

    await eventually(polled(complete), timeout_s=20)
    spans = otlp.trace(trace_id)
    services = {s.service for s in spans}
    assert services >= {"bridges-referrals", "bridges-notifications"}, services
    names = {s.service: [s.name for s in spans if s.service == s.service] for s in spans}
    by_name = {s.name: s for s in spans}
    intake_span = next(s for s in spans if s.name == "POST /referrals")
    assert intake_span.service == "bridges-referrals"
    publish = next(s for s in spans if s.name.startswith("publish ") and "requested" in s.name)
    consume = next(s for s in spans if s.name.startswith("consume ") and "requested" in s.name)
    assert publish.service == "bridges-referrals" and consume.service == "bridges-notifications"
    assert consume.parent_id == publish.span_id  # carried in the NATS message's traceparent
    assert by_name["fan-out"].attributes["bridges.deliveries.planned"] == 1
    assert by_name["deliver webhook"].service == "bridges-notifications"
    assert "unit of work" in {s.name for s in spans if s.service == "bridges-referrals"}, names
    assert referral_id  # the request's trace is the referral's: the webhook named it


async def test_the_directory_traces_too_and_no_span_holds_family_data(
    traced_stack: Stack, otlp: OtlpReceiver
):
    program = await create_program(traced_stack)  # a directory write: its own trace
    async with traced_stack.referrals.client(traced_stack.token(Role.OFFICER)) as c:
        await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": f"trace-{uuid.uuid4()}"},
        )
        await c.get("/referrals", params={"mine": "true", "q": FAMILY_NAME})

    def directory_traced() -> bool:
        return any(s.service == "bridges-directory" for s in otlp.spans)

    await eventually(polled(directory_traced), timeout_s=20)
    exported = b"".join(otlp.raw)
    for marker in (FAMILY_NAME, PHONE, "Quintanilla"):
        assert marker.encode() not in exported, f"{marker!r} was exported in a span"


async def _arrived(receiver: WebhookReceiver, n: int) -> bool:
    return len(receiver.requests) >= n


def test_tracing_is_off_unless_an_endpoint_is_set():
    from bridges_kit import tracing

    assert tracing.provider_from_env("referrals", {}) is None
    assert tracing.provider_from_env("referrals", {"OTEL_EXPORTER_OTLP_ENDPOINT": ""}) is None
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    assert tracing.provider_from_env("referrals", disabled) is None
    on = tracing.provider_from_env(
        "referrals", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    )
    assert on is not None and on.resource.attributes["service.name"] == "bridges-referrals"
    on.shutdown()
    with pytest.raises(ValueError, match="http/protobuf or grpc"):
        tracing.provider_from_env(
            "referrals",
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            },
        )


def test_bridges_up_passes_the_otel_variables_to_its_services(tmp_path, monkeypatch):
    from bridges_devstack.stack import Stack as DevStack

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    env = DevStack(tmp_path).service_env("notifications")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
