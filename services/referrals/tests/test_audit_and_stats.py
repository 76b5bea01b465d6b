"""The audit log (append-only, hash-chained, admin-only) and the public statistics."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from itertools import pairwise

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridges_referrals import audit_log
from bridges_schema import ReasonCode, ReferralStatus, Role

READ_ID, ACCEPT_ID = uuid.uuid4().hex, str(uuid.uuid4())


async def test_reads_and_changes_are_audited_with_the_request_id(desk):
    referral = (await desk.file())["referrals"][0]
    async with desk.client(Role.OFFICER) as c:
        await c.get(f"/referrals/{referral['id']}", headers={"X-Correlation-Id": READ_ID})
        await c.get(f"/referrals/{referral['id']}/history", headers={"X-Correlation-Id": "x"})
    async with desk.client(Role.AGENCY_STAFF) as c:
        await c.post(
            f"/referrals/{referral['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"', "X-Correlation-Id": ACCEPT_ID.upper()},
        )
    async with desk.client(Role.ADMIN) as c:
        entries = (await c.get("/audit", params={"referral_id": referral["id"]})).json()
        verified = (await c.get("/audit/verify")).json()
    async with desk.client(Role.OFFICER) as c:
        refused = await c.get("/audit")
    by_request: dict[str, list[dict]] = {}
    for entry in entries:
        by_request.setdefault(entry["request_id"], []).append(entry)
    [read] = by_request[READ_ID]  # the history read is not audited (no personal data)
    assert read["action"] == "pii.read" and read["actor_id"] == desk.officer
    assert "contact" in read["detail"]["fields"]
    accepted = by_request[ACCEPT_ID][-1]  # a well-formed id is kept (normalised)
    assert accepted["action"] == "referral.status_changed"
    assert accepted["detail"] == {
        "from": "requested",
        "to": "accepted",
        "version": 2,
    }
    assert verified["ok"] is True and verified["entries"] >= 3
    assert refused.status_code == 403


async def test_the_audit_log_refuses_changes_and_shows_tampering(desk, infra):
    referral = (await desk.file())["referrals"][0]
    for _ in range(3):
        async with desk.client(Role.OFFICER) as c:
            await c.get(f"/referrals/{referral['id']}")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await desk.pool.execute("UPDATE audit_log SET actor_id = 'nobody'")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await desk.pool.execute("DELETE FROM audit_log")
    first_id = await desk.pool.fetchval("SELECT min(id) FROM audit_log")
    # someone with the database's superuser bypasses the trigger and edits an old entry...
    async with desk.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "UPDATE audit_log SET actor_id = 'someone-else' WHERE id = $1", first_id + 1
        )
    async with desk.client(Role.ADMIN) as c:
        verified = (await c.get("/audit/verify")).json()
    assert verified["ok"] is False and verified["first_bad_id"] == first_id + 1


async def test_concurrent_appends_keep_one_chain(desk):
    referrals = [(await desk.file())["referrals"][0] for _ in range(3)]

    async def read(referral):
        async with desk.client(Role.OFFICER) as c:
            for _ in range(4):
                assert (await c.get(f"/referrals/{referral['id']}")).status_code == 200

    await asyncio.gather(*(read(r) for r in referrals))
    async with desk.pool.acquire() as conn:
        result = await audit_log.verify(conn)
    assert result.ok and result.entries == 12


async def test_statistics_are_public_and_suppress_small_counts(desk):
    for _ in range(6):
        await desk.file([desk.program_a], needs=["food.pantry"])
    for _ in range(2):
        await desk.file([desk.program_b], needs=["legal.tenant"])
    async with desk.service.client() as c:
        stats = (await c.get("/stats")).json()
        exported = await c.get("/stats.csv")
    needs = {row["need"]: row for row in stats["by_need"]}
    # 8 - 6 would give the 2 legal referrals back: food is hidden beside them
    assert needs["food"]["referrals"] == "suppressed"
    assert needs["legal"]["referrals"] == "<5"
    assert needs["legal"]["median_hours_to_first_response"] is None
    assert stats["overall"]["referrals"] == 8
    types = {row["program_type"]: row["referrals"] for row in stats["by_program_type"]}
    assert types == {"food": "suppressed", "housing": "<5"}
    assert "suppressed" in stats["suppression"]
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {"dimension": "need", "key": "legal", "referrals": "<5"}.items() <= next(
        r for r in rows if r["key"] == "legal"
    ).items()
    body = exported.text + str(stats)
    assert "Quintanilla" not in body and "Amara" not in body


async def test_statistics_withhold_shares_and_medians_a_small_count_could_be_worked_out_from(desk):
    async def move(referral_id: str, agency: uuid.UUID, *steps: dict) -> None:
        async with desk.client(Role.AGENCY_STAFF, agency=agency) as c:
            for version, step in enumerate(steps, start=1):
                response = await c.post(
                    f"/referrals/{referral_id}/transitions",
                    json=step,
                    headers={"If-Match": f'"{version}"'},
                )
                assert response.status_code == 200, response.text

    food = [(await desk.file(needs=["food.pantry"]))["referrals"][0]["id"] for _ in range(6)]
    await move(food[0], desk.agency_a, {"to": "accepted"}, {"to": "completed"})
    for referral_id in food[1:]:
        await move(referral_id, desk.agency_a, {"to": "rejected", "reason": "at-capacity"})
    housing = [
        (await desk.file([desk.program_b], needs=["housing.rent"]))["referrals"][0]["id"]
        for _ in range(5)
    ]
    await move(housing[0], desk.agency_b, {"to": "accepted"})
    async with desk.service.client() as c:
        stats = (await c.get("/stats")).json()
    types = {row["program_type"]: row for row in stats["by_program_type"]}
    # 1 completed of 6 closed: a share of 0.167 beside "<5" would give the 1 back
    assert types["food"]["completed"] == "<5" and types["food"]["completed_share"] is None
    assert types["food"]["median_hours_to_outcome"] is not None  # over 6 closed
    # 5 referrals, but only one had a response: its own time is no median
    assert types["housing"]["referrals"] == 5
    assert types["housing"]["median_hours_to_first_response"] is None
    assert stats["overall"]["referrals"] == 11 and stats["overall"]["completed_share"] is None


async def test_statistics_tell_outcomes_reasons_answers_in_time_and_agencies(desk):
    filed = [(await desk.file(needs=["food.pantry"]))["referrals"][0]["id"] for _ in range(10)]
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_a) as c:
        for i, referral_id in enumerate(filed):
            move = {"to": "accepted"} if i < 5 else {"to": "rejected", "reason": "at-capacity"}
            answer = await c.post(
                f"/referrals/{referral_id}/transitions", json=move, headers={"If-Match": '"1"'}
            )
            assert answer.status_code == 200, answer.text
    async with desk.service.client() as c:
        answer = await c.get("/stats")
        exported = (await c.get("/stats.csv")).text
    stats = answer.json()
    assert "public" in answer.headers["cache-control"]  # one computation serves every visitor
    statuses = {row["status"]: row["referrals"] for row in stats["outcomes"]["by_status"]}
    assert statuses == {"accepted": 5, "rejected": 5}
    assert stats["outcomes"]["declined_by_reason"] == [{"reason": "at-capacity", "referrals": 5}]
    assert stats["overall"]["answered_in_time_share"] == 1.0  # all answered within the target
    assert stats["overall"]["closed_loop_share"] == 0.5  # 5 declined of 10; 5 still open
    (agency,) = stats["by_agency"]
    assert agency["referrals"] == 10 and agency["median_hours_to_first_response"] is not None
    assert "declined_reason,at-capacity,5" in exported.replace("\r", "")


async def test_a_decline_reason_is_not_told_when_the_declined_count_is_hidden(desk):
    filed = [(await desk.file(needs=["food.pantry"]))["referrals"][0]["id"] for _ in range(7)]
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_a) as c:
        for referral_id in filed[:2]:  # two declines: a count under 5
            answer = await c.post(
                f"/referrals/{referral_id}/transitions",
                json={"to": "rejected", "reason": "not-eligible"},
                headers={"If-Match": '"1"'},
            )
            assert answer.status_code == 200, answer.text
    async with desk.service.client() as c:
        stats = (await c.get("/stats")).json()
    statuses = {row["status"]: row["referrals"] for row in stats["outcomes"]["by_status"]}
    assert statuses["rejected"] == "<5"
    assert stats["outcomes"]["declined_by_reason"] == []
    assert stats["overall"]["closed_loop_share"] is None  # 2 closed: a share would give them


MOVES = st.lists(
    st.tuples(
        st.sampled_from([Role.AGENCY_STAFF, Role.OFFICER, Role.ADMIN, Role.OPS]),
        st.sampled_from(list(ReferralStatus)),
        st.sampled_from([None, ReasonCode.OTHER]),
        st.booleans(),  # open the referral first (agency staff mark it received)
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moves=MOVES)
async def test_any_sequence_of_calls_keeps_one_history_row_and_one_event_per_change(desk, moves):
    referral_id = (await desk.file())["referrals"][0]["id"]
    rid = uuid.UUID(referral_id)
    for role, to, reason, read_first in moves:
        async with desk.client(role) as c:
            if read_first and role is Role.AGENCY_STAFF:
                await c.post(f"/referrals/{referral_id}/received")
            elif read_first:
                await c.get(f"/referrals/{referral_id}")
            version = await desk.pool.fetchval("SELECT version FROM referral WHERE id = $1", rid)
            response = await c.post(
                f"/referrals/{referral_id}/transitions",
                json={"to": to.value, **({"reason": reason.value} if reason else {})},
                headers={"If-Match": f'"{version}"'},
            )
        assert response.status_code in (200, 403, 404, 409, 422), response.text
        assert response.status_code != 500
    status, version = await desk.pool.fetchrow(
        "SELECT status, version FROM referral WHERE id = $1", rid
    )
    history = await desk.pool.fetch(
        "SELECT from_status, to_status, version FROM referral_history WHERE referral_id = $1 "
        "ORDER BY version",
        rid,
    )
    events = await desk.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->>'subject' = $1",
        referral_id,
    )
    changes = await desk.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE referral_id = $1 AND action = 'referral.status_changed'",
        rid,
    )
    assert [h["version"] for h in history] == list(range(1, version + 1))
    assert history[-1]["to_status"] == status
    assert all(a["to_status"] == b["from_status"] for a, b in pairwise(history))
    assert events == len(history) and changes == len(history) - 1
