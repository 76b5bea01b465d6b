"""Ops and admins at work over the real services (HTTP, PostgreSQL, NATS, a real receiver): each
service's flow figures are its Prometheus gauges sampled now, under the names and labels
/metrics gives them; a dead delivery is inspected without any family data and replayed after a
fix (the webhook arrives, with its first id); a parked event is replayed, and one that cannot be
is listed with why; an admin's test event arrives signed; every action is recorded with who."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from bridges_devstack.testing import eventually
from bridges_schema import REFERRAL_REQUESTED, ReferralRequested, Role, Urgency, new_event
from tests.conftest import Stack, start_stack
from tests.scenario import FAMILY_NAME, PHONE, create_program, file_referral, register_endpoint
from tests.test_metrics import scrape
from tests.test_ops_figures import FIGURES

pytestmark = pytest.mark.e2e

FAST_SAMPLING = {"BRIDGES_METRICS_SAMPLE_S": "0.2"}
SERVICES = ("directory", "referrals", "notifications")


@pytest.fixture
async def sampled_stack(infra: Any, services_factory: Any) -> Stack:
    return await start_stack(infra, services_factory, **dict.fromkeys(SERVICES, FAST_SAMPLING))


async def _summary(stack: Stack, service: str) -> dict[tuple[str, tuple], float]:
    async with getattr(stack, service).client(stack.token(Role.OPS)) as c:
        answer = await c.get("/ops/summary")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["service"] == service
    return {(s["metric"], tuple(sorted(s["labels"].items()))): s["value"] for s in body["samples"]}


def _at(samples: dict, metric: str, **labels: str) -> float:
    return samples[(metric, tuple(sorted(labels.items())))]


async def _dead_delivery(stack: Stack, receiver: Any) -> dict[str, Any]:
    """A referral whose webhook the agency's receiver refused for good (410): its delivery."""
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    receiver.answer(410)
    await file_referral(stack, [program["id"]])

    async def dead() -> list[dict[str, Any]]:
        async with stack.notifications.client(stack.token(Role.OPS)) as c:
            return (await c.get("/dead-letters")).json()

    [delivery] = await eventually(dead, timeout_s=20)
    return delivery


async def test_the_flow_figures_are_the_gauges_prometheus_scrapes_under_the_same_names(
    sampled_stack: Stack, receiver
):
    stack = sampled_stack
    await _dead_delivery(stack, receiver)
    summaries = {service: await _summary(stack, service) for service in SERVICES}
    referrals, notifications = summaries["referrals"], summaries["notifications"]
    assert _at(referrals, "bridges_referrals_filed_recent", window="1h") == 1
    assert _at(referrals, "bridges_referrals_filed_recent", window="24h") == 1
    assert _at(referrals, "bridges_referrals_overdue") == 0
    assert _at(notifications, "bridges_deliveries_waiting", status="dead") == 1
    assert _at(notifications, "bridges_deliveries_last_hour", outcome="dead") == 1
    assert _at(notifications, "bridges_deliveries_last_hour", outcome="failed") == 0
    assert _at(notifications, "bridges_endpoints", state="active") == 1
    assert _at(notifications, "bridges_dead_letters", consumer="notifications-referrals") == 0
    assert ("bridges_consumer_pending", (("consumer", "notifications-referrals"),)) in notifications
    assert _at(summaries["directory"], "bridges_outbox_backlog") == 0
    for service, summary in summaries.items():  # one process's pool is not the service's flow
        assert not any(name.startswith("bridges_db_pool") for name, _ in summary)

        async def scraped(service: str = service, summary: dict = summary) -> bool:
            return set(summary) <= set(await scrape(stack, service))

        await eventually(scraped, timeout_s=10)  # what the screen names, Prometheus has
    for figure in FIGURES:  # every figure of ops' screen is read where it says, under its labels
        for service in figure["services"]:
            assert any(
                name == figure["metric"] and set(figure.get("labels", {}).items()) <= set(labels)
                for name, labels in summaries[service]
            ), f"{figure['key']}: no {figure['metric']} in {service}'s summary"
    async with stack.notifications.client(stack.token(Role.OFFICER)) as c:
        assert (await c.get("/ops/summary")).status_code == 403


async def test_ops_inspect_a_dead_delivery_without_family_data_and_replay_it_after_a_fix(
    stack: Stack, receiver
):
    delivery = await _dead_delivery(stack, receiver)
    ops = stack.notifications.client(stack.token(Role.OPS))
    async with ops as c:
        inspected = await c.get(f"/deliveries/{delivery['id']}")
        listed = await c.get("/deliveries", params={"status": "dead"})
    assert [a["status_code"] for a in inspected.json()["attempt_log"]] == [410]
    for answer in (inspected, listed):
        assert FAMILY_NAME not in answer.text and PHONE not in answer.text
    receiver.answer(200)  # the agency fixed its receiver
    async with stack.notifications.client(stack.token(Role.OPS, name="Olu Ops")) as c:
        replayed = await c.post("/dead-letters/replay")
    assert replayed.json() == {"replayed": 1}
    await eventually(lambda: _received(receiver, 2), timeout_s=20)
    assert receiver.ids()[0] == receiver.ids()[1]  # the same webhook-id: receivers dedupe
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        actions = (await c.get("/ops/actions")).json()
        done = (await c.get(f"/deliveries/{delivery['id']}")).json()
    assert done["status"] == "succeeded"
    assert (actions[0]["action"], actions[0]["actor"], actions[0]["name"]) == (
        "deliveries.replay_dead",
        f"ops-{stack.namespace}",
        "Olu Ops",
    )
    assert actions[0]["detail"] == {"count": 1}


async def _received(receiver: Any, count: int) -> bool:
    return len(receiver.requests) >= count


async def _park(stack: Stack, payload: bytes) -> int:
    letter_id: int = await stack.notifications.runtime.pool.fetchval(
        """INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, payload,
               error, deliveries)
           VALUES ('notifications-referrals', 'bridges.referral.v1.requested',
               (SELECT coalesce(max(stream_sequence), 0) + 1 FROM dead_letters), NULL, $1,
               'handler failed: the database refused a row', 5)
           RETURNING id""",
        payload,
    )
    return letter_id


async def test_parked_events_are_replayed_after_a_fix_and_one_that_cannot_be_says_why(
    stack: Stack, receiver
):
    await register_endpoint(stack, receiver.url)
    now = datetime.now(UTC)
    event = new_event(
        REFERRAL_REQUESTED,
        ReferralRequested(
            referral_id=uuid.uuid4(),
            case_id=uuid.uuid4(),
            program_id=uuid.uuid4(),
            agency_id=stack.agency_id,
            urgency=Urgency.HIGH,
            officer_id="badge-1",
            version=1,
            requested_at=now,
            respond_by=now,
        ),
        source="/bridges/referrals",
        subject="referral",
    )
    good = await _park(stack, event.model_dump_json().encode())
    broken = await _park(stack, b"{not json")
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        report = (await c.post("/events/dead-letters/replay")).json()
        still_open = (await c.get("/events/dead-letters", params={"replayed": False})).json()
        actions = (await c.get("/ops/actions", params={"action": "dead_letter.replay"})).json()
    assert report["replayed"] == 1
    assert [f["id"] for f in report["failed"]] == [broken]
    assert "unparseable" in report["failed"][0]["error"]
    assert [letter["id"] for letter in still_open] == [broken]
    await eventually(lambda: _received(receiver, 1), timeout_s=20)
    assert json.loads(receiver.requests[0].body)["id"] == event.id
    assert {(a["target"], a["outcome"]) for a in actions} == {
        (str(good), "done"),
        (str(broken), "failed"),
    }


async def test_an_admin_sends_a_test_event_that_arrives_signed_and_about_no_referral(
    stack: Stack, receiver
):
    endpoint = await register_endpoint(stack, receiver.url)
    test_path = f"/agencies/{stack.agency_id}/endpoints/{endpoint['id']}/test"
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        sent = await c.post(test_path)
    assert sent.status_code == 202, sent.text

    async def delivered() -> dict[str, Any] | None:
        async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
            found = (await c.get(f"/deliveries/{sent.json()['id']}")).json()
        return found if found["status"] == "succeeded" else None

    delivery = await eventually(delivered, timeout_s=20)
    assert delivery["referral_id"] is None and delivery["attempts"] == 1
    event = Webhook(endpoint["secret"]).verify(
        receiver.requests[0].body, receiver.requests[0].headers
    )
    assert event["type"] == "org.bridges.delivery.webhook_tested.v1"
    assert event["data"]["endpoint_id"] == endpoint["id"]
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        await c.post(f"/endpoints/{endpoint['id']}/pause")
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        paused = await c.post(test_path)
    assert paused.status_code == 409
    # the referrals service heard the test's outcome and let it be: nothing parked there
    pool = stack.referrals.runtime.pool

    async def heard() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT count(*) FROM processed_events WHERE consumer = 'referrals-delivery'"
            )
        )

    await eventually(heard, timeout_s=20)
    async with stack.referrals.client(stack.token(Role.OPS)) as c:
        assert (await c.get("/events/dead-letters")).json() == []
