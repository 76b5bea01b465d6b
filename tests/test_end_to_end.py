"""One referral end to end over real HTTP, PostgreSQL and NATS: directory → read-model → intake
→ signed webhook → agency accepts."""

from __future__ import annotations

import json
import uuid

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bridges_devstack import samples
from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.scenario import FAMILY_NAME, PHONE, create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e


async def test_referral_travels_from_intake_to_accepted_with_a_signed_webhook(stack, receiver):
    program = await create_program(stack)
    endpoint = await register_endpoint(stack, receiver.url)
    assert endpoint["secret"].startswith("whsec_")

    officer = stack.token(Role.OFFICER)
    async with stack.referrals.client(officer) as c:
        filed = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "intake-0001"}
        )
    assert filed.status_code == 201, filed.text
    referral = filed.json()["referrals"][0]
    assert referral["status"] == "requested"

    await eventually(lambda: _count(receiver, 1))
    hook = receiver.requests[0]
    event = Webhook(endpoint["secret"]).verify(hook.body, hook.headers)
    assert event["type"] == "org.bridges.referral.requested.v1"
    assert event["data"]["referral_id"] == referral["id"]
    assert hook.headers["webhook-id"] == event["id"]
    assert FAMILY_NAME.encode() not in hook.body and PHONE.encode() not in hook.body
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(hook.body, hook.headers)

    staff = stack.token(Role.AGENCY_STAFF)
    async with stack.referrals.client(staff) as c:
        accepted = await c.post(
            f"/referrals/{referral['id']}/transitions",
            json={"to": "accepted", "note": "We will call Tuesday."},
            headers={"If-Match": '"1"'},
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.headers["ETag"] == '"2"'
        detail = (await c.get(f"/referrals/{referral['id']}")).json()
    assert detail["status"] == "accepted"
    assert [h["to_status"] for h in detail["history"]] == ["requested", "accepted"]
    assert detail["client"]["family_name"] == FAMILY_NAME  # consented: contact details
    assert detail["situation"] is None  # not in the consented scopes


async def test_retried_intake_returns_the_first_referral_and_sends_no_second_webhook(
    stack, receiver
):
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    body = intake([program["id"]])
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        first = await c.post("/referrals", json=body, headers={"Idempotency-Key": "tablet-42"})
        again = await c.post("/referrals", json=body, headers={"Idempotency-Key": "tablet-42"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        # a second, different intake acts as a barrier: once its webhook is in, the first
        # intake's events have all been delivered
        other = await c.post("/referrals", json=body, headers={"Idempotency-Key": "tablet-43"})
        assert other.status_code == 201
        changed = await c.post(
            "/referrals",
            json={**body, "urgency": "routine"},
            headers={"Idempotency-Key": "tablet-42"},
        )
        assert changed.status_code == 422  # same key, different request
    await eventually(lambda: _count(receiver, 2))
    referral_ids = [json.loads(r.body)["data"]["referral_id"] for r in receiver.requests]
    assert sorted(referral_ids) == sorted(
        [first.json()["referrals"][0]["id"], other.json()["referrals"][0]["id"]]
    )
    count = await stack.referrals.runtime.pool.fetchval("SELECT count(*) FROM referral")
    assert count == 2


async def test_an_intake_for_two_programs_files_two_referrals_in_one_case(stack, receiver):
    first, second = await create_program(stack), await create_program(stack)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals",
            json=intake([first["id"], second["id"]]),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert r.status_code == 201, r.text
    result = r.json()
    assert {x["program_id"] for x in result["referrals"]} == {first["id"], second["id"]}
    assert {x["case_id"] for x in result["referrals"]} == {result["case_id"]}


async def _count(receiver, n: int) -> bool:
    assert len(receiver.requests) <= n, f"more webhooks than expected: {receiver.ids()}"
    return len(receiver.requests) == n


async def test_an_agency_that_cannot_be_reached_shows_on_the_officers_referral(stack, receiver):
    program = await create_program(stack)
    endpoint = await register_endpoint(stack, receiver.url)
    receiver.answer(410)  # the agency's endpoint is gone: not retried, dead-lettered
    officer = stack.token(Role.OFFICER)
    async with stack.referrals.client(officer) as c:
        filed = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "gone-0001"}
        )
    referral_id = filed.json()["referrals"][0]["id"]

    async def flagged() -> bool:
        async with stack.referrals.client(officer) as c:
            return bool((await c.get(f"/referrals/{referral_id}")).json()["agency_not_reached"])

    await eventually(flagged, timeout_s=30)
    async with stack.notifications.client(stack.token(Role.OPS)) as c:  # ops replays: it arrives
        replayed = await c.post(f"/endpoints/{endpoint['id']}/replay-dead-letters")
    assert replayed.json() == {"replayed": 1}

    async def cleared() -> bool:
        return not await flagged()

    await eventually(cleared, timeout_s=30)
    assert len(receiver.requests) == 2


async def test_nothing_the_family_did_not_share_reaches_the_agency_by_any_path(stack, receiver):
    """Consent to share contact details only: no needs in the view, the event or the webhook;
    after withdrawal nothing at all, and the officer's withdrawal note stays with the officer."""
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    consent = samples.consent("contact", given_at="2026-11-02T09:00:00Z")
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals",
            json=intake([program["id"]], consent=consent),
            headers={"Idempotency-Key": "contact-only-1"},
        )
    referral = filed.json()["referrals"][0]
    await eventually(lambda: _count(receiver, 1))
    webhook = json.loads(receiver.requests[0].body)
    assert webhook["data"]["need_codes"] == []
    staff = stack.referrals.client(stack.token(Role.AGENCY_STAFF))
    async with staff as c:
        seen = (await c.get(f"/referrals/{referral['id']}")).json()
    assert seen["client"]["family_name"] == FAMILY_NAME and seen["needs"] == []
    assert "household" not in seen["client"] and seen["situation"] is None

    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        withdrawn = await c.post(
            f"/cases/{referral['case_id']}/consent/withdrawal",
            json={"note": "Amara asked us to stop: moving to her sister's"},
        )
    assert withdrawn.json() == {"cancelled": [referral["id"]]}
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        after = (await c.get(f"/referrals/{referral['id']}")).json()
        history = (await c.get(f"/referrals/{referral['id']}/history")).json()
    assert after["client"] is None and after["needs"] == [] and after["consent_withdrawn"]
    assert "moving" not in json.dumps(after) and "moving" not in json.dumps(history)
    await eventually(lambda: _count(receiver, 2))
    assert all(b"moving" not in r.body and b"Amara" not in r.body for r in receiver.requests)
