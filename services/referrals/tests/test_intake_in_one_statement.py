"""Intake in one statement, over real HTTP and PostgreSQL: a new intake for programs the service
read lately is written whole in one round trip; a retry, a concurrent duplicate, a reused key
and a program changed since it was read (by another replica) are decided as before."""

from __future__ import annotations

import asyncio
import uuid

from bridges_schema import Role


async def _post(desk, body: dict, key: str):
    async with desk.client(Role.OFFICER) as c:
        return await c.post("/referrals", json=body, headers={"Idempotency-Key": key})


async def _count(desk, table: str) -> int:
    count: int = await desk.pool.fetchval(f"SELECT count(*) FROM {table}")
    return count


async def _program_changed_elsewhere(desk, program_id: uuid.UUID, *, accepting: bool) -> None:
    """As another replica's consumer would: in the database, not in this service's memory."""
    await desk.pool.execute(
        """UPDATE program SET accepting_referrals = $2, version = version + 1
           WHERE service_id = $1""",
        program_id,
        accepting,
    )


async def test_a_new_intake_for_a_program_read_lately_is_one_statement(desk, careful_intakes):
    await desk.file()  # the service reads the program
    outbox_before = await _count(desk, "outbox")
    response = await _post(desk, desk.intake([desk.program_a]), "one-statement-0001")
    assert response.status_code == 201, response.text
    assert "one-statement-0001" not in careful_intakes
    referral = response.json()["referrals"][0]
    stored = await desk.pool.fetchrow(
        """SELECT r.status, h.to_status, k.response, c.client IS NOT NULL AS sealed_client
           FROM referral r JOIN referral_history h ON h.referral_id = r.id
           JOIN referral_case c ON c.id = r.case_id JOIN consent ON consent.case_id = c.id
           JOIN idempotency_key k ON k.key = 'one-statement-0001'
           WHERE r.id = $1""",
        uuid.UUID(referral["id"]),
    )
    assert (stored["status"], stored["to_status"]) == ("requested", "requested")
    assert stored["response"] == response.json() and stored["sealed_client"]
    assert await _count(desk, "outbox") == outbox_before + 1
    async with desk.client(Role.OFFICER) as c:  # the family's data opens as before
        detail = (await c.get(f"/referrals/{referral['id']}")).json()
    assert detail["client"]["given_name"] == "Amara"


async def test_a_retry_returns_the_first_answer_and_writes_nothing(desk, careful_intakes):
    await desk.file()
    body = desk.intake([desk.program_a])
    first = await _post(desk, body, "retried-0001")
    counts = [await _count(desk, t) for t in ("referral", "outbox", "idempotency_key")]
    again = await _post(desk, body, "retried-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert [await _count(desk, t) for t in ("referral", "outbox", "idempotency_key")] == counts
    assert careful_intakes.count("retried-0001") == 1  # the retry, not the first


async def test_the_same_key_with_different_content_is_refused(desk):
    await desk.file()
    assert (await _post(desk, desk.intake([desk.program_a]), "reused-0001")).status_code == 201
    changed = desk.intake([desk.program_a], urgency="emergency")
    refused = await _post(desk, changed, "reused-0001")
    assert refused.status_code == 422, refused.text
    assert "Idempotency-Key" in refused.json()["detail"]


async def test_concurrent_intakes_under_one_key_file_once_and_answer_alike(desk):
    await desk.file()
    body = desk.intake([desk.program_a])
    before = await _count(desk, "referral"), await _count(desk, "outbox")
    answers = await asyncio.gather(*(_post(desk, body, "same-key-0001") for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.text for a in answers}) == 1
    assert (await _count(desk, "referral"), await _count(desk, "outbox")) == (
        before[0] + 1,
        before[1] + 1,
    )


async def test_a_program_closed_since_it_was_read_refuses_the_intake(desk):
    await desk.file()  # read while it took referrals
    await _program_changed_elsewhere(desk, desk.program_a, accepting=False)
    counts = [await _count(desk, t) for t in ("referral_case", "outbox", "idempotency_key")]
    refused = await _post(desk, desk.intake([desk.program_a]), "closed-0001")
    assert refused.status_code == 422, refused.text
    assert [await _count(desk, t) for t in ("referral_case", "outbox", "idempotency_key")] == counts


async def test_a_program_reopened_since_it_was_read_takes_the_intake(desk):
    await _program_changed_elsewhere(desk, desk.program_a, accepting=False)
    closed = await _post(desk, desk.intake([desk.program_a]), "reopened-0001")
    assert closed.status_code == 422  # read while closed
    await _program_changed_elsewhere(desk, desk.program_a, accepting=True)
    reopened = await _post(desk, desk.intake([desk.program_a]), "reopened-0002")
    assert reopened.status_code == 201, reopened.text
