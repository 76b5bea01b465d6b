"""Agencies keep their own listing true, over real HTTP and PostgreSQL: `PATCH /services/{id}`
only on their own agency's programs (another's is a 404), always with `If-Match` (428 without,
412 stale), refusing what only admins may change (422 naming each path); the intake with an
"until" day and a note, reopened that day; closures in "open at" search; "still correct"; the
agency's list; the audit log (admins only); the monthly review request, once a month."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from listing_samples import agency_program

from bridges_directory import listing, reviews
from bridges_directory.freshness import ReviewPolicy
from bridges_schema import Role

AGENCY = uuid.uuid4()


async def _created(directory, infra, **overrides: Any) -> dict[str, Any]:
    body = agency_program(AGENCY, **overrides)
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=body)).status_code == 201
    return body


def _staff(infra, agency: uuid.UUID = AGENCY) -> str:
    return infra.token(Role.AGENCY_STAFF, sub="staff-lee", agency_id=agency, name="Lee Chen")


async def test_staff_edit_their_own_program_with_the_version_they_read(directory, infra):
    body = await _created(directory, infra)
    hours = [
        {
            "id": str(uuid.uuid4()),
            "freq": "WEEKLY",
            "byday": "MO,WE,FR",
            "opens_at": "09:00",
            "closes_at": "13:00",
        },
        {
            "id": str(uuid.uuid4()),
            "valid_from": "2026-12-24",
            "valid_to": "2026-12-26",
            "description": "Closed for the holidays",
            "x_bridges": {"closed": True},
        },
    ]
    patch = {
        "schedules": hours,
        "phones": [{"id": str(uuid.uuid4()), "number": "503-555-0177"}],
        "languages": [{"id": str(uuid.uuid4()), "code": "es", "name": "Spanish"}],
        "minimum_age": 0,
        "maximum_age": 3,
        "eligibility_description": "Families with a child under 3",
        "required_documents": [{"id": str(uuid.uuid4()), "document": "Proof of address"}],
    }
    async with directory.client(_staff(infra)) as c:
        changed = await c.patch(f"/services/{body['id']}", json=patch, headers={"If-Match": '"1"'})
        assert changed.status_code == 200, changed.text
        assert changed.headers["ETag"] == '"2"'
        document = changed.json()
        assert document["phones"][0]["number"] == "503-555-0177"
        assert document["x_bridges"]["last_verified"] >= "2026-12-07"  # saving is checking
        stale = await c.patch(
            f"/services/{body['id']}", json={"description": "x"}, headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 412, stale.text
        missing = await c.patch(f"/services/{body['id']}", json={"description": "x"})
        assert missing.status_code == 428, missing.text
    async with directory.client() as c:
        found = await c.get("/services", params={"search": "diaper", "age": 2, "language": "es"})
        assert [s["id"] for s in found.json()["contents"]] == [body["id"]]
        # closed on Christmas Day (a Friday), open the Friday before, 10:00 in Riverton
        open_at = {"search": "diaper", "open_at": "2026-12-18T18:00:00Z"}
        assert (await c.get("/services", params=open_at)).json()["total_items"] == 1
        closed_at = {"search": "diaper", "open_at": "2026-12-25T18:00:00Z"}
        assert (await c.get("/services", params=closed_at)).json()["total_items"] == 0
    changes = await directory.runtime.pool.fetchval(
        "SELECT changes FROM service_change WHERE service_id = $1 AND action = 'edited'",
        uuid.UUID(body["id"]),
    )
    assert changes["maximum_age"] == [None, 3]


async def test_another_agencys_program_is_not_found_and_nothing_changes(directory, infra):
    body = await _created(directory, infra)
    stranger = _staff(infra, uuid.uuid4())
    async with directory.client(stranger) as c:
        for method, path, json in [
            ("PATCH", f"/services/{body['id']}", {"description": "mine now"}),
            ("PATCH", f"/services/{body['id']}/capacity", {"accepting_referrals": False}),
            ("POST", f"/services/{body['id']}/confirmation", None),
            ("GET", f"/agencies/{AGENCY}/services", None),
        ]:
            answer = await c.request(method, path, json=json, headers={"If-Match": '"1"'})
            assert answer.status_code == 404, (method, path, answer.text)
    async with directory.client() as c:
        assert (await c.get(f"/services/{body['id']}")).headers["ETag"] == '"1"'


async def test_what_only_admins_may_change_is_refused_by_name(directory, infra):
    body = await _created(directory, infra)
    patch = {
        "status": "inactive",
        "organization": {"id": body["organization"]["id"], "name": "Someone Else"},
        "attributes": [{"id": str(uuid.uuid4())}],
        "x_bridges": {"agency_id": str(uuid.uuid4())},
        "description": "a change staff may make",
    }
    async with directory.client(_staff(infra)) as c:
        refused = await c.patch(f"/services/{body['id']}", json=patch, headers={"If-Match": "*"})
        assert refused.status_code == 422, refused.text
        named = {".".join(map(str, e["location"][1:])) for e in refused.json()["errors"]}
        assert named == {"status", "organization.name", "attributes", "x_bridges.agency_id"}
        invalid = await c.patch(
            f"/services/{body['id']}",
            json={"minimum_age": "three"},
            headers={"If-Match": '"1"'},
        )
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["location"] == ["body", "minimum_age"]
        whole = (await c.get(f"/services/{body['id']}")).json()
        whole["service_at_locations"][0]["location"]["addresses"][0]["address_1"] = "9 Oak Ave"
        sent_back = await c.patch(
            f"/services/{body['id']}", json=whole, headers={"If-Match": '"1"'}
        )
        assert sent_back.status_code == 200, sent_back.text
    async with directory.client(infra.token(Role.ADMIN)) as c:
        by_admin = await c.patch(
            f"/services/{body['id']}", json={"status": "inactive"}, headers={"If-Match": '"2"'}
        )
        assert by_admin.status_code == 200 and by_admin.json()["status"] == "inactive"


async def test_closed_until_a_day_then_reopened_that_day(directory, infra):
    body = await _created(directory, infra)
    until = (datetime.now(UTC) + timedelta(days=3)).date()
    async with directory.client(_staff(infra)) as c:
        closed = await c.patch(
            f"/services/{body['id']}/capacity",
            json={
                "accepting_referrals": False,
                "capacity_status": "full",
                "capacity_until": until.isoformat(),
                "capacity_note": "Restocking after the holidays",
            },
        )
        assert closed.status_code == 200, closed.text
        extension = closed.json()["x_bridges"]
        assert (extension["capacity_until"], extension["capacity_note"]) == (
            until.isoformat(),
            "Restocking after the holidays",
        )
        past = await c.patch(
            f"/services/{body['id']}/capacity", json={"capacity_until": "2020-01-01"}
        )
        assert past.status_code == 422
        assert past.json()["errors"][0]["location"] == ["body", "x_bridges", "capacity_until"]
        assert (
            await c.patch(f"/services/{body['id']}/capacity", json={}, headers={})
        ).status_code == 400
    async with directory.client() as c:
        accepting = await c.get("/services", params={"search": "diaper", "accepting": "true"})
        assert accepting.json()["total_items"] == 0
    the_day = datetime.combine(until, datetime.min.time(), UTC) + timedelta(hours=20)
    assert await listing.reopen_due(directory.runtime.uow(), the_day) == 1
    async with directory.client() as c:
        reopened = (await c.get(f"/services/{body['id']}")).json()["x_bridges"]
        assert reopened["accepting_referrals"] is True and "capacity_until" not in reopened
        accepting = await c.get("/services", params={"search": "diaper", "accepting": "true"})
        assert accepting.json()["total_items"] == 1


async def test_still_correct_the_agencys_list_and_the_audit_log(directory, infra):
    body = await _created(directory, infra)
    await _created(directory, infra, name="Riverton Mobile Pantry")
    async with directory.client(_staff(infra)) as c:
        confirmed = await c.post(f"/services/{body['id']}/confirmation")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["x_bridges"]["last_verified"] > "2026-01-05"
        mine = (await c.get(f"/agencies/{AGENCY}/services")).json()
        assert [p["service"]["name"] for p in mine["items"]] == [
            "Riverton Diaper Bank",
            "Riverton Mobile Pantry",
        ]
        assert [p["version"] for p in mine["items"]] == [2, 1]
        assert (await c.get("/audit")).status_code == 403
    async with directory.client(infra.token(Role.ADMIN)) as c:
        log = (await c.get("/audit", params={"service_id": body["id"]})).json()
        assert [e["action"] for e in log["items"]] == ["confirmed", "created"]
        newest = log["items"][0]
        assert (newest["actor_sub"], newest["actor_name"], newest["agency_id"]) == (
            "staff-lee",
            "Lee Chen",
            str(AGENCY),
        )
        assert "x_bridges.last_verified" in newest["changes"]
        page = (await c.get("/audit", params={"limit": 1})).json()
        older = (await c.get("/audit", params={"limit": 1, "before": page["next_before"]})).json()
        assert older["items"][0]["id"] < page["items"][0]["id"]
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await directory.runtime.pool.execute("DELETE FROM service_change")


async def test_agencies_due_a_review_are_asked_once_a_month(directory, infra):
    await _created(directory, infra)
    fresh_agency = uuid.uuid4()
    today = datetime.now(UTC).date()
    await _created(
        directory,
        infra,
        x_bridges={"agency_id": str(fresh_agency), "last_verified": today.isoformat()},
    )
    policy = ReviewPolicy()
    assert await reviews.request_due(directory.runtime.uow(), policy) == 1
    assert await reviews.request_due(directory.runtime.uow(), policy) == 0
    row = await directory.runtime.pool.fetchrow("SELECT * FROM listing_review")
    assert row["agency_id"] == AGENCY and row["programs"] == 1
    assert row["expires_at"] - row["requested_at"] == timedelta(days=45)
    later = datetime.now(UTC) + timedelta(days=31)
    assert await reviews.request_due(directory.runtime.uow(), policy, later) == 2
    published = await directory.runtime.pool.fetch(
        "SELECT subject FROM outbox WHERE subject LIKE '%listing.review_requested'"
    )
    assert len(published) == 3
