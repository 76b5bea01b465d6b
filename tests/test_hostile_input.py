"""What an outside probe sent that crashed a request, and what a careless client could slip
through: each is now a 4xx problem+json that changes nothing, over real HTTP, PostgreSQL and
NATS (three services in one NATS namespace)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bridges_devstack import samples
from bridges_devstack.fuzz import as_json
from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.scenario import create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e

NUL = "\u0000"


def _problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["detail"]
    return body


async def _count(pool: Any, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


@pytest.fixture
async def program(stack):
    return await create_program(stack)


def _client_with(**contact: Any) -> dict[str, Any]:
    return {
        "given_name": "Amara",
        "family_name": "Diallo",
        "contact": {"phone": "+1 503 555 0142", "safe_to_leave_message": False, **contact},
    }


@pytest.mark.parametrize(
    "change",
    [
        {"client": {**_client_with(), "given_name": f"Am{NUL}ara"}},
        {"client": _client_with(preferred_language=f"e{NUL}s")},
        {"situation": f"lost job{NUL}"},
        {"situation": "lone surrogate \ud800 here"},
        {"needs": [f"food{NUL}"]},
    ],
    ids=["name", "language", "situation", "surrogate", "need"],
)
async def test_unstorable_text_in_an_intake_is_refused_and_writes_nothing(stack, program, change):
    request = as_json(intake([program["id"]], **change))
    request["headers"]["Idempotency-Key"] = uuid.uuid4().hex
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        response = await c.post("/referrals", **request)
    _problem(response, 400, 422)
    pool = stack.referrals.runtime.pool
    assert await _count(pool, "referral") == 0 and await _count(pool, "outbox") == 0


@pytest.mark.parametrize(
    "given_at",
    [
        "0001-01-01T00:00:00+14:00",  # no such instant in UTC
        "0001-01-01T00:00:00Z",  # the driver's -infinity: it read back without an offset
        "0001-01-01T00:00:01Z",  # a consent no referral could rest on
        "2026-11-02T08:55:00",  # no offset: which instant is it?
    ],
    ids=["before-year-1", "minus-infinity", "year-1", "naive"],
)
async def test_a_consent_time_that_names_no_sensible_instant_is_refused(stack, program, given_at):
    consent = samples.consent("contact", given_at=given_at)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        response = await c.post(
            "/referrals",
            json=intake([program["id"]], consent=consent),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    body = _problem(response, 422)
    assert any("given_at" in e["location"] for e in body["errors"])
    assert await _count(stack.referrals.runtime.pool, "referral_case") == 0


@pytest.mark.parametrize(
    "params",
    [
        {"language": f"es{NUL}"},
        {"service_area": f"riverton{NUL}"},
        {"search": f"food{NUL}bank"},
        {"modified_after": "0001-01-01T00:00:00+14:00"},
        {"open_at": "0001-01-01T00:00:00+14:00"},
        {"open_at": "2026-11-25T11:00:00"},  # no offset: the schema's date-time needs one
        {"modified_after": "2026-11-25T11:00:00"},
    ],
)
async def test_hostile_search_filters_are_refused(stack, params):
    async with stack.directory.client() as c:
        response = await c.get("/services", params=params)
    _problem(response, 400, 422)


async def test_a_service_with_a_nul_in_its_name_is_refused(stack):
    body = {
        "id": str(uuid.uuid4()),
        "name": f"Pantry{NUL}",
        "status": "active",
        "organization": {"id": str(uuid.uuid4()), "name": "Org"},
    }
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        created = await c.post("/services", json=body)
        imported = await c.post("/import", json=[body])
    _problem(created, 400, 422)
    assert _problem(imported, 400, 422)["detail"]
    assert await _count(stack.directory.runtime.pool, "service") == 0


async def test_an_import_nested_two_thousand_levels_deep_is_refused(stack):
    deep = "[" * 2000 + "]" * 2000
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        response = await c.post(
            "/import", content=deep, headers={"content-type": "application/json"}
        )
        nested = await c.post(
            "/import",
            content='{"services": [{"x": ' + "[" * 100 + "]" * 100 + "}]}",
            headers={"content-type": "application/json"},
        )
    _problem(response, 400)
    _problem(nested, 400)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/audit", {"before_id": str(2**63)}),
        ("/audit", {"actor_id": f"admin{NUL}"}),
        ("/audit", {"action": f"pii.read{NUL}"}),
        ("/events/dead-letters", {"before_id": str(2**63)}),
    ],
)
async def test_hostile_audit_and_ops_filters_are_refused(stack, path, params):
    async with stack.referrals.client(stack.token(Role.ADMIN)) as c:
        response = await c.get(path, params=params)
    _problem(response, 400, 422)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"url": "https://" + "a" * 64 + ".example.org/hooks"}, "label"),
        ({"url": "https://user:secret@hooks.example.org/x"}, "credentials"),
        ({"url": "https://hooks.example.org/x", "description": f"main{NUL}"}, "NUL"),
    ],
)
async def test_hostile_webhook_endpoints_are_refused_and_nothing_is_stored(stack, body, why):
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        response = await c.post(f"/agencies/{stack.agency_id}/endpoints", json=body)
        listed = await c.get(f"/agencies/{stack.agency_id}/endpoints")
    assert why in _problem(response, 400, 422)["detail"]
    assert listed.json() == []


async def test_hostile_delivery_filters_are_refused(stack):
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        response = await c.get("/deliveries", params={"event_id": f"e{NUL}"})
    _problem(response, 400, 422)


@pytest.mark.parametrize(
    "claims",
    [
        {"email": {"address": "x@example.org"}},
        {"email": "officer@example.org\r\nBcc: everyone@example.org"},
        {"sub": "b" * 129},
    ],
    ids=["email-object", "email-crlf", "sub-too-long"],
)
async def test_malformed_token_claims_are_refused_not_stored(stack, claims):
    import jwt as pyjwt

    payload = pyjwt.decode(stack.token(Role.OFFICER), options={"verify_signature": False})
    forged = pyjwt.encode({**payload, **claims}, stack.infra.private_key, algorithm="ES256")
    async with stack.notifications.client(forged) as c:
        response = await c.put("/officers/me/notifications", json={})
    _problem(response, 401)
    assert await _count(stack.notifications.runtime.pool, "officer_preference") == 0


async def test_a_client_chosen_correlation_id_never_reaches_the_agency(stack, program, receiver):
    await register_endpoint(stack, receiver.url)
    well_formed = str(uuid.uuid4())
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        chatty = await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": uuid.uuid4().hex, "X-Correlation-Id": "Amara Diallo"},
        )
        traced = await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": uuid.uuid4().hex, "X-Correlation-Id": well_formed},
        )
    assert chatty.headers["X-Correlation-Id"] != "Amara Diallo"
    assert traced.headers["X-Correlation-Id"] == well_formed

    async def both_delivered() -> bool:
        return len(receiver.requests) == 2

    await eventually(both_delivered, timeout_s=20)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert all(b"Amara" not in r.body for r in receiver.requests)
    assert well_formed in {b["correlationid"] for b in bodies}


async def test_an_if_match_that_is_not_the_current_version_is_412_whatever_its_form(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "etag-0001"}
        )
    path = f"/referrals/{filed.json()['referrals'][0]['id']}/transitions"
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        for tag in ('"abc"', 'W/"x"', "garbage", '"1.0"'):
            _problem(await c.post(path, json={"to": "accepted"}, headers={"If-Match": tag}), 412)
        accepted = await c.post(path, json={"to": "accepted"}, headers={"If-Match": "*"})
    assert accepted.status_code == 200 and accepted.headers["ETag"] == '"2"'


async def test_a_family_without_phone_or_email_is_referred_through_the_officer(stack, program):
    family = {
        "given_name": "Amara",
        "family_name": "Diallo",
        "contact": {"preferred_channel": "officer", "safe_to_leave_message": False},
    }
    officer = stack.token(Role.OFFICER, email="badge-88@police.example.org")
    async with stack.referrals.client(officer) as c:
        filed = await c.post(
            "/referrals",
            json=intake(
                [program["id"]], client=family, officer_contact={"phone": "+1 503 555 0100"}
            ),
            headers={"Idempotency-Key": "no-phone-0001"},
        )
    assert filed.status_code == 201, filed.text
    referral_id = filed.json()["referrals"][0]["id"]
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        seen = (await c.get(f"/referrals/{referral_id}")).json()
    assert seen["officer_contact"] == {
        "email": "badge-88@police.example.org",
        "phone": "+1 503 555 0100",
    }
    assert seen["client"]["contact"]["preferred_channel"] == "officer"
