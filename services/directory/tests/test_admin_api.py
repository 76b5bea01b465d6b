"""What admins keep beside programs, over real HTTP and PostgreSQL: an organization renamed with
the ETag read (its programs follow, found by search under the new words), a stale If-Match
refused with 412 and nothing written, who renamed it in each program's history, errors at their field, what programs use refused with 409,
locations and terms searched, the agencies by name, and program edits with If-Match."""

from __future__ import annotations

import uuid

from bridges_directory.domain import document_etag
from bridges_schema import Role

AGENCY = str(uuid.uuid4())


def _program(org: dict, place: dict, term: dict) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "name": "Alder Warm Meals",
        "status": "active",
        "organization": org,
        "service_at_locations": [{"id": str(uuid.uuid4()), "location": place}],
        "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term": term}],
        "x_bridges": {"agency_id": AGENCY},
    }


async def _outbox(directory) -> int:
    return await directory.runtime.pool.fetchval("SELECT count(*) FROM outbox")


async def test_an_admin_renames_an_organization_and_its_programs_follow(directory, infra):
    org = {"id": str(uuid.uuid4()), "name": "Alder Kitchen Collective"}
    place = {
        "id": str(uuid.uuid4()),
        "name": "Old Mill Hall",
        "latitude": 45.5,
        "longitude": -122.6,
    }
    term = {"id": str(uuid.uuid4()), "code": "meals", "name": "Hot meals"}
    program = _program(org, place, term)
    admin = directory.client(infra.token(Role.ADMIN))
    async with admin as c:
        assert (await c.post("/services", json=program)).status_code == 201
        read = await c.get(f"/organizations/{org['id']}")
        assert read.headers["ETag"] == document_etag(read.json())
        renamed = await c.put(
            f"/organizations/{org['id']}",
            json={**org, "name": "Riverbend Soup Kitchen"},
            headers={"If-Match": read.headers["ETag"]},
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.headers["Bridges-Programs-Rewritten"] == "1"
        stale = await c.put(
            f"/organizations/{org['id']}",
            json={**org, "name": "Someone else's name"},
            headers={"If-Match": read.headers["ETag"]},
        )
        outbox = await _outbox(directory)
        field = await c.put(f"/organizations/{org['id']}", json={**org, "name": ""})
        mismatch = await c.put(f"/organizations/{uuid.uuid4()}", json=org)
        audit = (await c.get("/audit", params={"service_id": program["id"]})).json()["items"]
    assert stale.status_code == 412 and stale.json()["type"].endswith("/precondition-failed")
    assert field.status_code == 422
    assert [e["location"] for e in field.json()["errors"]] == [["body", "name"]]
    assert mismatch.status_code == 422
    assert await _outbox(directory) == outbox  # the refusals wrote nothing
    async with directory.client() as c:
        found = (await c.get("/services", params={"search": "riverbend soup"})).json()
        served = (await c.get(f"/services/{program['id']}")).json()
        listed = (await c.get("/organizations", params={"search": "RIVERBEND"})).json()
    assert [s["id"] for s in found["contents"]] == [program["id"]]
    assert served["organization"]["name"] == "Riverbend Soup Kitchen"
    assert [o["id"] for o in listed["contents"]] == [org["id"]]
    # the program's history says the admin renamed its organization (newest first)
    assert [(e["action"], e["actor_role"], e["version"]) for e in audit] == [
        ("organization", "admin", 2),
        ("created", "admin", 1),
    ]
    assert audit[0]["changes"] == {
        "organization.name": ["Alder Kitchen Collective", "Riverbend Soup Kitchen"]
    }


async def test_locations_and_terms_in_use_stay_and_unused_ones_go(directory, infra):
    org = {"id": str(uuid.uuid4()), "name": "Alder Pantry Network"}
    place = {"id": str(uuid.uuid4()), "name": "Harbor Annex", "latitude": 45.5, "longitude": -122.6}
    term = {"id": str(uuid.uuid4()), "code": "pantry.x", "name": "Pantry shelves"}
    program = _program(org, place, term)
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=program)).status_code == 201
        held_place = await c.delete(f"/locations/{place['id']}")
        held_term = await c.delete(f"/taxonomy_terms/{term['id']}")
        moved = await c.put(f"/locations/{place['id']}", json={**place, "name": "Harbor Annex B"})
        spare = {"id": str(uuid.uuid4()), "name": "Spare Hall Annex"}
        made = await c.put(f"/locations/{spare['id']}", json=spare)
        looped = await c.put(
            f"/taxonomy_terms/{term['id']}", json={**term, "parent_id": term["id"]}
        )
        renamed = await c.put(
            f"/taxonomy_terms/{term['id']}", json={**term, "name": "Food shelves"}
        )
        gone = await c.delete(
            f"/locations/{spare['id']}", headers={"If-Match": made.headers["ETag"]}
        )
    assert held_place.status_code == held_term.status_code == 409
    assert "1 program" in held_place.json()["detail"]
    assert moved.status_code == 200 and moved.headers["Bridges-Programs-Rewritten"] == "1"
    assert made.status_code == 201
    assert looped.status_code == 422
    assert [e["path"] for e in looped.json()["errors"]] == ["$.parent_id"]
    assert renamed.status_code == 200 and gone.status_code == 204
    async with directory.client() as c:
        places = (await c.get("/locations", params={"search": "annex"})).json()
        here = (await c.get("/service_at_locations", params={"location_id": place["id"]})).json()
        terms = (await c.get("/taxonomy_terms", params={"search": "food shel"})).json()
        shelves = (await c.get("/services", params={"search": "food shelves"})).json()
    assert [p["name"] for p in places["contents"]] == ["Harbor Annex B"]
    assert [s["service_id"] for s in here["contents"]] == [program["id"]]
    assert [t["id"] for t in terms["contents"]] == [term["id"]]
    assert program["id"] in [s["id"] for s in shelves["contents"]]  # re-indexed by the new name


async def test_programs_are_edited_over_the_version_read_and_agencies_are_listed_by_name(
    directory, infra
):
    org = {"id": str(uuid.uuid4()), "name": "Alder Youth Hall"}
    place = {"id": str(uuid.uuid4()), "name": "Gym", "latitude": 45.5, "longitude": -122.6}
    term = {"id": str(uuid.uuid4()), "code": "youth.x", "name": "Youth"}
    program = _program(org, place, term)
    async with directory.client(infra.token(Role.ADMIN)) as c:
        created = await c.post("/services", json=program)
        retired = await c.put(
            f"/services/{program['id']}",
            json={**program, "status": "inactive"},
            headers={"If-Match": created.headers["ETag"]},
        )
        stale = await c.put(
            f"/services/{program['id']}",
            json={**program, "name": "Overwritten"},
            headers={"If-Match": created.headers["ETag"]},
        )
        agencies = (await c.get("/agencies", params={"search": "youth hall"})).json()
    async with directory.client(infra.token(Role.OFFICER)) as c:
        refused = await c.get("/agencies")
    assert retired.status_code == 200 and retired.json()["status"] == "inactive"
    assert stale.status_code == 412
    assert agencies == [
        {"agency_id": AGENCY, "name": "Alder Youth Hall", "programs": 1, "active_programs": 0}
    ]
    assert refused.status_code == 403


async def test_a_term_renamed_rewrites_its_programs_and_saved_as_it_is_none(directory, infra):
    term = {"id": str(uuid.uuid4()), "code": f"soup-{uuid.uuid4().hex[:6]}", "name": "Soup"}
    org = {"id": str(uuid.uuid4()), "name": "Alder Soup Org"}
    place = {"id": str(uuid.uuid4()), "name": "Soup Hall", "latitude": 45.5, "longitude": -122.6}
    program = _program(org, place, term)
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=program)).status_code == 201
        read = await c.get(f"/taxonomy_terms/{term['id']}")
        renamed = await c.put(
            f"/taxonomy_terms/{term['id']}",
            json={**read.json(), "name": "Soup and bread"},
            headers={"If-Match": read.headers["ETag"]},
        )
        outbox = await _outbox(directory)
        again = await c.put(
            f"/taxonomy_terms/{term['id']}",
            json=renamed.json(),
            headers={"If-Match": renamed.headers["ETag"]},
        )
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["Bridges-Programs-Rewritten"] == "1"
    assert again.status_code == 200, again.text
    assert again.headers["Bridges-Programs-Rewritten"] == "0"  # nothing changed: no new version
    assert await _outbox(directory) == outbox
