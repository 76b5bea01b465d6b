"""Metrics that move when work happens: a referral filed and delivered moves the request
latency histogram, the outbox, the consumers, the deliveries by outcome and the referrals by
status; a parked event shows as a dead letter; label values stay bounded whatever a client
sends. Scraped from /metrics as Prometheus does, parsed with prometheus_client's own parser."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.conftest import Stack, start_stack
from tests.scenario import create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e

FAST_SAMPLING = {"BRIDGES_METRICS_SAMPLE_S": "0.2"}


@pytest.fixture
async def sampled_stack(infra: Any, services_factory: Any) -> Stack:
    return await start_stack(
        infra,
        services_factory,
        **{name: FAST_SAMPLING for name in ("directory", "referrals", "notifications")},
    )


async def scrape(
    stack: Stack, service: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    running = getattr(stack, service)
    async with running.client(stack.token(Role.OPS)) as c:
        answer = await c.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_referral_moves_the_metrics_of_every_step(sampled_stack: Stack, receiver):
    stack = sampled_stack
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    before = await scrape(stack, "referrals")
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": f"metrics-{uuid.uuid4()}"},
        )
    assert filed.status_code == 201

    async def delivered() -> dict:
        samples = await scrape(stack, "notifications")
        ok = value(samples, "bridges_deliveries_total", channel="webhook", outcome="succeeded")
        return samples if ok >= 1 else {}

    notifications = await eventually(delivered, timeout_s=20)
    assert (
        value(
            notifications,
            "bridges_consumer_messages_total",
            consumer="notifications-referrals",
            outcome="ok",
        )
        >= 1
    )
    referrals = await eventually(
        lambda: _sampled(stack, "bridges_referrals", status="requested"), timeout_s=10
    )
    route = {"method": "POST", "route": "/referrals"}
    assert (
        value(referrals, "bridges_http_request_seconds_count", **route)
        == value(before, "bridges_http_request_seconds_count", **route) + 1
    )
    assert value(referrals, "bridges_http_requests_total", status="201", **route) >= 1
    assert value(referrals, "bridges_outbox_published_total") > value(
        before, "bridges_outbox_published_total"
    )

    # published: nothing waits (the gauge is sampled every few seconds: the next sample says so)
    async def drained() -> bool:
        return value(await scrape(stack, "referrals"), "bridges_outbox_backlog") == 0

    assert await eventually(drained, timeout_s=10)
    assert value(referrals, "bridges_referrals", status="requested") == 1
    assert value(referrals, "bridges_referrals_overdue") == 0
    assert value(referrals, "bridges_db_pool_connections", state="idle") >= 1
    assert ("bridges_consumer_pending", (("consumer", "referrals-programs"),)) in referrals
    assert value(notifications, "bridges_deliveries_waiting", status="pending") == 0


async def _sampled(stack: Stack, name: str, **labels: str) -> dict:
    samples = await scrape(stack, "referrals")
    return samples if value(samples, name, **labels) >= 1 else {}


async def test_a_failing_endpoint_counts_failed_then_dead_deliveries(
    sampled_stack: Stack, receiver
):
    stack = sampled_stack
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    receiver.answer(410)  # gone: not retried, the delivery is dead at once
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": f"metrics-{uuid.uuid4()}"},
        )

    async def dead() -> dict:
        samples = await scrape(stack, "notifications")
        return samples if value(samples, "bridges_deliveries_waiting", status="dead") == 1 else {}

    samples = await eventually(dead, timeout_s=20)
    assert value(samples, "bridges_deliveries_total", channel="webhook", outcome="dead") == 1


async def test_label_values_stay_bounded_whatever_a_client_sends(sampled_stack: Stack):
    stack = sampled_stack
    async with httpx.AsyncClient(base_url=stack.directory.url) as c:
        for n in range(20):
            await c.request("PROPFIND", f"/no/such/{uuid.uuid4()}")
            await c.get(f"/services/{uuid.uuid4()}", params={"n": n})
    samples = await scrape(stack, "directory")
    routes = {
        dict(labels).get("route")
        for (name, labels) in samples
        if name == "bridges_http_requests_total"
    }
    methods = {
        dict(labels).get("method")
        for (name, labels) in samples
        if name == "bridges_http_requests_total"
    }
    assert "unmatched" in routes and "/services/{service_id}" in routes
    assert not any(r and r.startswith("/no/such") for r in routes)
    assert "PROPFIND" not in methods and "other" in methods
