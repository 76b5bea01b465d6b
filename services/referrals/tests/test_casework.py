"""The closed loop over real HTTP, PostgreSQL and NATS: intake, agency views and moves, SLA,
consent withdrawal, retention, audit and public statistics."""

from __future__ import annotations

import asyncio
import json
import uuid

from bridges_referrals import privacy, upkeep
from bridges_schema import Role


async def _events(desk, type_suffix: str) -> list[dict]:
    rows = await desk.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    events = [json.loads(bytes(r["payload"])) for r in rows]
    return [e for e in events if e["type"].endswith(type_suffix)]


async def test_intake_files_one_referral_per_program_under_one_case(desk):
    result = await desk.file([desk.program_a, desk.program_b])
    referrals = result["referrals"]
    assert len(referrals) == 2 and len({r["case_id"] for r in referrals}) == 1
    assert {r["agency_id"] for r in referrals} == {str(desk.agency_a), str(desk.agency_b)}
    async with desk.client(Role.OFFICER) as c:
        detail = (await c.get(f"/referrals/{referrals[0]['id']}")).json()
        mine = (await c.get("/referrals", params={"mine": "true"})).json()["items"]
    contact = detail["client"]["contact"]
    assert contact["safe_to_leave_message"] is False and contact["interpreter_needed"] is True
    assert detail["client"]["household"][0]["age"] == 3
    assert detail["needs"] == ["food.pantry", "housing.rent"]
    assert {r["id"] for r in mine} == {r["id"] for r in referrals}
    assert len(await _events(desk, "referral.requested.v1")) == 2


async def test_guardian_consent_needs_a_name(desk):
    body_consent = {
        "given_by": "guardian",
        "method": "signature",
        "given_at": "2026-11-01T10:00:00Z",
        "scopes": ["contact"],
    }
    async with desk.client(Role.OFFICER) as c:
        response = await c.post(
            "/referrals",
            json=desk.intake([desk.program_a], consent=body_consent),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    assert response.status_code == 422
    assert await desk.pool.fetchval("SELECT count(*) FROM referral") == 0


async def test_another_agency_can_neither_see_list_nor_move_a_referral(desk):
    referral = (await desk.file())["referrals"][0]
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_b) as c:
        assert (await c.get(f"/referrals/{referral['id']}")).status_code == 404
        assert (await c.get(f"/referrals/{referral['id']}/history")).status_code == 404
        moved = await c.post(
            f"/referrals/{referral['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
        inbox = (await c.get("/inbox")).json()
    assert moved.status_code == 404
    assert moved.json()["detail"].replace(referral["id"], "{id}") == await c_detail_of_unknown(desk)
    assert inbox["items"] == []
    assert await desk.pool.fetchval("SELECT status FROM referral") == "requested"


async def c_detail_of_unknown(desk) -> str:
    """What a 404 for a referral that does not exist says (the same words, nothing leaks)."""
    unknown = uuid.uuid4()
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_b) as c:
        response = await c.post(
            f"/referrals/{unknown}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
    return response.json()["detail"].replace(str(unknown), "{id}")


async def test_reading_a_referral_changes_nothing_but_marking_it_received_does_once(desk):
    referral = (await desk.file())["referrals"][0]
    path = f"/referrals/{referral['id']}"
    async with desk.client(Role.AGENCY_STAFF) as c:
        read = await c.get(path)
        history = await c.get(f"{path}/history")
        first = await c.post(f"{path}/received")
        second = await c.post(f"{path}/received")
    assert read.json()["status"] == "requested" and read.headers["ETag"] == '"1"'
    assert [h["to_status"] for h in history.json()] == ["requested"]
    assert first.json()["status"] == "received" and first.headers["ETag"] == '"2"'
    assert second.json()["version"] == 2
    assert [h["to_status"] for h in second.json()["history"]] == ["requested", "received"]
    assert len(await _events(desk, "referral.received.v1")) == 1
    # consented scopes: contact, household, needs and situation were shared
    assert second.json()["client"]["household"][0]["given_name"] == "Tomas"
    actions = [
        r["action"]
        for r in await desk.pool.fetch(
            "SELECT action FROM audit_log WHERE referral_id = $1 ORDER BY id",
            uuid.UUID(referral["id"]),
        )
    ]  # the two reads of the family's data, the move, the view after each command
    assert actions == ["pii.read", "referral.status_changed", "pii.read", "pii.read"]


async def test_two_staff_accepting_at_once_one_wins_one_gets_412(desk):
    referral = (await desk.file())["referrals"][0]

    async def accept(sub: str):
        async with desk.client(Role.AGENCY_STAFF, sub=sub) as c:
            return await c.post(
                f"/referrals/{referral['id']}/transitions",
                json={"to": "accepted"},
                headers={"If-Match": '"1"'},
            )

    results = await asyncio.gather(accept("staff-1"), accept("staff-2"))
    assert sorted(r.status_code for r in results) == [200, 412]
    assert await desk.pool.fetchval("SELECT count(*) FROM referral_history") == 2
    assert len(await _events(desk, "referral.accepted.v1")) == 1


async def test_inbox_filters_sorts_and_keyset_pages(desk):
    program_c = await desk.add_program(desk.agency_a, "youth.mentoring")
    filed = []
    for i in range(7):
        urgency = ["routine", "high", "emergency"][i % 3]
        program = program_c if i % 2 else desk.program_a
        filed.append((await desk.file([program], urgency=urgency))["referrals"][0])
    async with desk.client(Role.AGENCY_STAFF) as c:
        await c.post(
            f"/referrals/{filed[0]['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/inbox", params=params)).json()
            seen += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        oldest = (await c.get("/inbox", params={"sort": "oldest", "limit": 50})).json()
        due = (await c.get("/inbox", params={"sort": "due"})).json()["items"]
        accepted = (await c.get("/inbox", params={"status": "accepted"})).json()["items"]
        emergency = (await c.get("/inbox", params={"urgency": "emergency"})).json()["items"]
        youth = (await c.get("/inbox", params={"program_id": str(program_c)})).json()["items"]
        open_ones = (await c.get("/inbox", params={"status": ["requested", "received"]})).json()
        bad = await c.get("/inbox", params={"cursor": "not-a-cursor"})
    assert seen == [r["id"] for r in reversed(filed)]  # newest first, no gaps, no repeats
    assert [r["id"] for r in oldest["items"]] == [r["id"] for r in filed]
    assert [r["respond_by"] for r in due] == sorted(r["respond_by"] for r in due)
    assert [r["id"] for r in accepted] == [filed[0]["id"]]
    assert {r["id"] for r in emergency} == {filed[i]["id"] for i in (2, 5)}
    assert {r["id"] for r in youth} == {filed[i]["id"] for i in (1, 3, 5)}
    assert len(open_ones["items"]) == 6
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"


async def test_overdue_fires_exactly_once_with_two_sweepers(desk):
    filed = [(await desk.file())["referrals"][0] for _ in range(5)]
    answered = filed[0]
    async with desk.client(Role.AGENCY_STAFF) as c:
        await c.post(
            f"/referrals/{answered['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
    await desk.pool.execute("UPDATE referral SET respond_by = now() - interval '1 minute'")
    runtime = desk.service.runtime
    sweepers = [upkeep.SlaSweeper(runtime.uow, batch=2) for _ in range(2)]
    counts = await asyncio.gather(*(s.tick() for s in sweepers))
    assert sum(counts) == 4
    assert sum(await asyncio.gather(*(s.tick() for s in sweepers))) == 0
    overdue = await _events(desk, "referral.overdue.v1")
    assert sorted(e["data"]["referral_id"] for e in overdue) == sorted(r["id"] for r in filed[1:])
    async with desk.client(Role.AGENCY_STAFF) as c:
        flagged = (await c.get("/inbox", params={"overdue": "true"})).json()["items"]
    async with desk.client(Role.OFFICER) as c:
        mine = (await c.get("/referrals")).json()["items"]
    assert {r["id"] for r in flagged} == {r["id"] for r in filed[1:]}
    assert sum(r["overdue"] for r in mine) == 4
    changes = {r["id"]: r["last_change"] for r in mine}
    assert changes[answered["id"]]["to_status"] == "accepted"
    assert changes[answered["id"]]["actor_role"] == "agency_staff"
    assert changes[filed[1]["id"]]["to_status"] == "requested"


async def test_withdrawal_cancels_open_referrals_and_hides_pii_from_agencies(desk):
    result = await desk.file([desk.program_a, desk.program_b])
    case_id = result["case_id"]
    done, still_open = result["referrals"]
    async with desk.client(Role.AGENCY_STAFF) as c:  # agency A finishes its referral first
        for version, to in enumerate(["accepted", "completed"], start=1):
            r = await c.post(
                f"/referrals/{done['id']}/transitions",
                json={"to": to},
                headers={"If-Match": f'"{version}"'},
            )
            assert r.status_code == 200, r.text
    async with desk.client(Role.OFFICER, sub="someone-else") as c:
        assert (await c.post(f"/cases/{case_id}/consent/withdrawal", json={})).status_code == 404
    async with desk.client(Role.OFFICER) as c:
        response = await c.post(f"/cases/{case_id}/consent/withdrawal", json={"note": "by phone"})
        again = await c.post(f"/cases/{case_id}/consent/withdrawal", json={})
    assert response.json() == {"cancelled": [still_open["id"]]}
    assert again.json() == {"cancelled": []}
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_b) as c:
        seen_by_b = (await c.get(f"/referrals/{still_open['id']}")).json()
    async with desk.client(Role.AGENCY_STAFF) as c:
        seen_by_a = (await c.get(f"/referrals/{done['id']}")).json()
    assert seen_by_b["status"] == "cancelled" and seen_by_b["consent_withdrawn"] is True
    assert seen_by_b["history"][-1]["reason_code"] == "consent-withdrawn"
    assert seen_by_b["client"] is None and seen_by_a["client"] is None
    assert seen_by_a["status"] == "completed"
    actions = await desk.pool.fetch(
        "SELECT action FROM audit_log WHERE case_id = $1", uuid.UUID(case_id)
    )
    assert "consent.withdrawn" in {a["action"] for a in actions}


async def test_purge_erases_pii_of_long_closed_cases_but_keeps_statistics(desk):
    closed = await desk.file()
    open_case = await desk.file()
    referral = closed["referrals"][0]
    async with desk.client(Role.AGENCY_STAFF) as c:
        for version, to in enumerate(["accepted", "completed"], start=1):
            await c.post(
                f"/referrals/{referral['id']}/transitions",
                json={"to": to, "note": "called Amara back"},
                headers={"If-Match": f'"{version}"'},
            )
    async with desk.client(Role.ADMIN) as c:
        before = (await c.get("/stats")).json()
    await desk.pool.execute(
        "UPDATE referral SET closed_at = now() - interval '400 days' WHERE closed_at IS NOT NULL"
    )
    from datetime import timedelta

    uow = desk.service.runtime.uow
    assert await privacy.purge_all(uow, timedelta(days=365)) == 1
    cases = {
        str(r["id"]): r
        for r in await desk.pool.fetch("SELECT id, client, situation, purged_at FROM referral_case")
    }
    assert cases[closed["case_id"]]["client"] is None and cases[closed["case_id"]]["purged_at"]
    assert cases[open_case["case_id"]]["client"] is not None
    notes = await desk.pool.fetch("SELECT note FROM referral_history WHERE note IS NOT NULL")
    assert notes == []
    async with desk.client(Role.OFFICER) as c:
        view = (await c.get(f"/referrals/{referral['id']}")).json()
    assert view["client"] is None and view["status"] == "completed"
    async with desk.service.client() as c:
        after = (await c.get("/stats")).json()
    assert after["overall"]["referrals"] == before["overall"]["referrals"]
    assert after["by_need"] == before["by_need"]
    assert await privacy.purge_all(uow, timedelta(days=365)) == 0
    purged = await desk.pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'pii.purged'")
    assert purged == 1


async def test_the_officers_own_list_pages_on_past_any_limit(desk):
    filed = [(await desk.file())["referrals"][0]["id"] for _ in range(7)]
    async with desk.client(Role.OFFICER) as c:
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 3, "sort": "newest", **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/referrals", params=params)).json()
            seen += [r["id"] for r in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        overdue_only = (await c.get("/referrals", params={"overdue": "true"})).json()
        wrong_order = await c.get("/referrals", params={"cursor": cursor or "x", "sort": "due"})
    assert seen == list(reversed(filed)) and pages == 3  # newest first, no gaps, no repeats
    assert overdue_only["items"] == []
    assert wrong_order.status_code == 400


async def test_ops_list_and_replay_a_parked_event_over_http(desk):
    from bridges_devstack.samples import service_upserted
    from bridges_schema import event_spec

    event = service_upserted(name="Parked Pantry", agency_id=desk.agency_a)
    service_id = event.data.service_id
    # parked on its real subject: a replay checks subject and source as the consumer did
    subject = event_spec(event).subject(desk.service.runtime.streams.namespace)
    await desk.pool.execute(
        """INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, payload, error,
               deliveries) VALUES ('referrals-programs', $3, 7, $1, $2, 'a bug, since fixed', 5)""",
        event.id,
        event.model_dump_json().encode(),
        subject,
    )
    async with desk.client(Role.AGENCY_STAFF) as c:
        assert (await c.get("/events/dead-letters")).status_code == 403
    async with desk.client(Role.OPS) as c:
        [letter] = (await c.get("/events/dead-letters", params={"replayed": "false"})).json()
        replayed = (await c.post(f"/events/dead-letters/{letter['id']}/replay")).json()
        unknown = await c.post("/events/dead-letters/999999/replay")
    assert letter["event"]["id"] == event.id and letter["deliveries"] == 5
    assert replayed["replayed_at"] is not None
    assert unknown.status_code == 404
    assert await desk.pool.fetchval("SELECT name FROM program WHERE service_id = $1", service_id)
