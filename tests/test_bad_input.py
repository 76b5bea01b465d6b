"""Bad input gets a 4xx problem+json and writes nothing."""

from __future__ import annotations

import uuid

import pytest

from bridges_devstack.testing import Infra
from bridges_kit.auth import ensure_dev_keypair, mint_token
from bridges_schema import Role
from tests.scenario import create_program, intake

pytestmark = pytest.mark.e2e


async def _nothing_written(stack) -> None:
    pool = stack.referrals.runtime.pool
    for table in ("referral", "referral_case", "consent", "outbox", "idempotency_key"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.fixture
async def program(stack):
    return await create_program(stack)


async def test_missing_consent_is_refused(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals",
            json=intake([program["id"]], consent=None),
            headers={"Idempotency-Key": "k-consent-1"},
        )
    assert "consent" in _problem(r, 422)["detail"]
    await _nothing_written(stack)


async def test_unknown_program_is_refused(stack, program):
    unknown = str(uuid.uuid4())
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals", json=intake([unknown]), headers={"Idempotency-Key": "k-unknown-1"}
        )
    assert unknown in _problem(r, 422)["detail"]
    await _nothing_written(stack)


async def test_program_not_accepting_referrals_is_refused(stack):
    closed = await create_program(stack, accepting=False)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals", json=intake([closed["id"]]), headers={"Idempotency-Key": "k-closed-1"}
        )
    assert "not accepting" in _problem(r, 422)["detail"]
    await _nothing_written(stack)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("situation", "x" * 4001),
        ("needs", ["food"] * 21),
        ("urgency", "whenever"),
        (
            "client",
            {
                "given_name": "A" * 101,
                "family_name": "B",
                "contact": {"phone": "5035550100", "safe_to_leave_message": True},
            },
        ),
    ],
)
async def test_oversized_or_invalid_fields_are_refused(stack, program, field, value):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals",
            json=intake([program["id"]], **{field: value}),
            headers={"Idempotency-Key": f"k-{field}-1"},
        )
    body = _problem(r, 422)
    assert any(field in map(str, e["location"]) for e in body["errors"])
    assert "x" * 100 not in r.text  # the offending input is not echoed back
    await _nothing_written(stack)


async def test_oversized_body_is_refused(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals",
            content=b'{"situation": "' + b"x" * 300_000 + b'"}',
            headers={"Idempotency-Key": "k-huge-1", "content-type": "application/json"},
        )
    _problem(r, 413)
    await _nothing_written(stack)


async def test_malformed_json_is_refused(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(
            "/referrals",
            content=b'{"client": {',
            headers={"Idempotency-Key": "k-json-1", "content-type": "application/json"},
        )
    _problem(r, 400)
    await _nothing_written(stack)


async def test_missing_idempotency_key_is_refused(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post("/referrals", json=intake([program["id"]]))
    assert "Idempotency-Key" in _problem(r, 400)["detail"]
    await _nothing_written(stack)


async def test_missing_token_is_refused(stack, program):
    async with stack.referrals.client() as c:
        r = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "k-anon-1"}
        )
    _problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    await _nothing_written(stack)


async def test_forged_token_is_refused(stack, program, tmp_path):
    private, _ = ensure_dev_keypair(tmp_path)  # a key the services do not trust
    forged = mint_token(private.read_text(), sub="intruder", role=Role.OFFICER)
    async with stack.referrals.client(forged) as c:
        r = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "k-forged-1"}
        )
    _problem(r, 401)
    await _nothing_written(stack)


async def test_wrong_role_is_forbidden(stack, program):
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        r = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "k-role-1"}
        )
    _problem(r, 403)
    await _nothing_written(stack)


async def test_expired_token_is_refused(stack, infra: Infra, program):
    expired = mint_token(infra.private_key, sub="late", role=Role.OFFICER, ttl_s=-60)
    async with stack.referrals.client(expired) as c:
        r = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "k-expired-1"}
        )
    _problem(r, 401)
    await _nothing_written(stack)


async def test_transition_needs_if_match_and_a_legal_move(stack, program):
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": "k-transition-1"},
        )
    referral_id = filed.json()["referrals"][0]["id"]
    path = f"/referrals/{referral_id}/transitions"
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        _problem(await c.post(path, json={"to": "accepted"}), 428)
        _problem(await c.post(path, json={"to": "accepted"}, headers={"If-Match": '"7"'}), 412)
        _problem(await c.post(path, json={"to": "completed"}, headers={"If-Match": '"1"'}), 409)
        _problem(await c.post(path, json={"to": "rejected"}, headers={"If-Match": '"1"'}), 422)
    other_agency = stack.token(Role.AGENCY_STAFF, agency_id=uuid.uuid4())
    async with stack.referrals.client(other_agency) as c:
        _problem(await c.post(path, json={"to": "accepted"}, headers={"If-Match": '"1"'}), 404)
        _problem(await c.get(f"/referrals/{referral_id}"), 404)
    history = await stack.referrals.runtime.pool.fetchval(
        "SELECT count(*) FROM referral_history WHERE referral_id = $1", uuid.UUID(referral_id)
    )
    assert history == 1
