"""HSDS import (all or nothing, errors with JSON paths, idempotent), export round trip, and
who may change a program's capacity — over real HTTP and PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from bridges_directory import dataset
from bridges_directory.seed import demo_county
from bridges_schema import Role


async def _counts(directory) -> tuple[int, int]:
    pool = directory.runtime.pool
    return (
        await pool.fetchval("SELECT count(*) FROM service"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
    )


async def _import(directory, infra, body):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        return await c.post("/import", content=json.dumps(body))


async def test_one_bad_record_imports_nothing_and_every_error_is_listed(directory, infra):
    data = demo_county.build()
    data["services"][3]["organization"]["name"] = ""
    data["services"][7]["status"] = "open"
    data["services"][9]["attributes"][0]["taxonomy_term_id"] = str(uuid.uuid4())
    data["services"][12]["id"] = data["services"][11]["id"]
    response = await _import(directory, infra, data)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    paths = {e["path"] for e in response.json()["errors"]}
    assert {
        "$.services[3].organization.name",
        "$.services[7].status",
        "$.services[12].id",
    } <= paths
    assert await _counts(directory) == (0, 0)

    del data["services"][12]
    data["services"][3]["organization"]["name"] = "Fixed"
    data["services"][7]["status"] = "active"
    response = await _import(directory, infra, data)  # references are checked too
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.services[9].attributes[0].taxonomy_term_id"
    ]
    assert await _counts(directory) == (0, 0)


async def test_import_then_reimport_changes_nothing_and_emits_nothing(directory, infra):
    data = demo_county.build()
    first = await _import(directory, infra, data)
    assert first.status_code == 200, first.text
    report = first.json()
    assert {k: v for k, v in report.items() if k != "added"} == {
        "services": len(data["services"]),
        "created": len(data["services"]),
        "updated": 0,
        "unchanged": 0,
        "retired_count": 0,
        "taxonomy_terms": len(data["taxonomy_terms"]),
        "changed": [],
        "retired": [],
        "warnings": [],
        "warning_count": 0,
        "dry_run": False,
    }
    assert [p["name"] for p in report["added"]] == [s["name"] for s in data["services"]]
    services, events = await _counts(directory)
    assert services == events == len(data["services"])

    again = await _import(directory, infra, data["services"])  # the bare-array form
    assert again.json()["unchanged"] == len(data["services"])
    assert await _counts(directory) == (services, events)

    changed = copy.deepcopy(data)
    changed["services"][0]["description"] = "Now open on Sundays too."
    third = (await _import(directory, infra, changed)).json()
    assert (third["updated"], third["unchanged"]) == (1, len(data["services"]) - 1)
    assert third["changed"] == [{k: changed["services"][0][k] for k in ("id", "name", "status")}]
    assert await _counts(directory) == (services, events + 1)


async def test_export_reimports_identically_into_another_directory(
    directory, infra, make_directory
):
    assert (await _import(directory, infra, demo_county.build())).status_code == 200
    async with directory.client() as c:
        exported = await c.get("/export")
    assert exported.status_code == 200
    first = exported.json()
    assert len(first["services"]) == len(demo_county.PROGRAMS)

    other = await make_directory("copy")
    report = (await _import(other, infra, first)).json()
    assert report["created"] == len(first["services"])
    async with other.client() as c:
        second = (await c.get("/export")).json()
    assert second == first
    assert dataset.parse(second).services  # and it is valid HSDS for us


@pytest.mark.parametrize(
    ("role", "own_agency", "status"),
    [
        (Role.AGENCY_STAFF, True, 200),
        (Role.AGENCY_STAFF, False, 404),  # another agency's program: as if it did not exist
        (Role.ADMIN, False, 200),
        (Role.OFFICER, False, 403),
    ],
)
async def test_capacity_is_changed_only_by_the_receiving_agency_or_an_admin(
    directory, infra, role, own_agency, status
):
    data = demo_county.build()
    await _import(directory, infra, data)
    service = data["services"][0]
    agency = service["x_bridges"]["agency_id"] if own_agency else str(uuid.uuid4())
    token = infra.token(role, agency_id=agency if role is Role.AGENCY_STAFF else None)
    _, events = await _counts(directory)
    async with directory.client(token) as c:
        response = await c.patch(
            f"/services/{service['id']}/capacity",
            json={"accepting_referrals": False, "capacity_status": "full"},
        )
        current = (await c.get(f"/services/{service['id']}")).json()
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["ETag"] == '"2"'
        assert current["x_bridges"]["accepting_referrals"] is False
        assert current["x_bridges"]["capacity_status"] == "full"
        payload = await directory.runtime.pool.fetchval(
            "SELECT payload FROM outbox ORDER BY id DESC LIMIT 1"
        )
        event = json.loads(bytes(payload))
        assert event["type"] == "org.bridges.directory.service.capacity_changed.v1"
        assert event["data"]["version"] == 2
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert current["x_bridges"]["accepting_referrals"] is True
        assert (await _counts(directory))[1] == events


async def test_taxonomy_lists_service_at_locations_and_modified_after(directory, infra):
    data = demo_county.build()
    await _import(directory, infra, data)
    food = next(t for t in data["taxonomy_terms"] if t["code"] == "food")
    async with directory.client() as c:
        children = (await c.get("/taxonomy_terms", params={"parent_id": food["id"]})).json()
        top = (await c.get("/taxonomy_terms", params={"top_only": "true"})).json()
        taxonomies = (await c.get("/taxonomies")).json()
        sals = (await c.get("/service_at_locations", params={"per_page": 5})).json()
        later = (await c.get("/services", params={"modified_after": "2999-01-01T00:00:00Z"})).json()
        orgs = (await c.get("/organizations", params={"modified_after": "2000-01-01"})).json()
    assert {t["code"] for t in children["contents"]} == {"food.pantry", "food.meals", "food.infant"}
    assert top["total_items"] == 7
    assert taxonomies["contents"][0]["name"] == "Bridges Needs"
    assert sals["total_items"] == len(data["services"]) and sals["size"] == 5
    assert sals["contents"][0]["location"]["addresses"][0]["state_province"] == "OR"
    assert later["total_items"] == 0
    assert orgs["total_items"] == len({s["organization"]["id"] for s in data["services"]})


async def test_import_takes_bodies_far_above_the_api_limit(directory, infra):
    from bridges_directory.seed import generator

    dataset = next(generator.generate(600))
    body = json.dumps(dataset)
    assert len(body) > 512 * 1024  # the default request limit is 256 KiB
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post("/import", content=body)
        too_big = await c.post("/services", content=body)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["created"] == 600
    assert too_big.status_code == 413
