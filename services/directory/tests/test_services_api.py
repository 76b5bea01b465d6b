"""The directory's thin slice over real HTTP and PostgreSQL: write programs, read them as HSDS."""

from __future__ import annotations

import uuid

from bridges_schema import Role


def _service(**overrides):
    org = {"id": str(uuid.uuid4()), "name": "Alder Family Services", "description": "x"}
    body = {
        "id": str(uuid.uuid4()),
        "name": "Clínica Comunitaria",
        "description": "Counseling for families",
        "status": "active",
        "organization": org,
        "x_bridges": {"agency_id": str(uuid.uuid4()), "capacity_status": "limited"},
    }
    body.update(overrides)
    return body


async def _outbox(directory) -> int:
    return await directory.runtime.pool.fetchval("SELECT count(*) FROM outbox")


async def test_admin_creates_a_service_and_anyone_reads_it_as_hsds(directory, infra):
    body = _service()
    async with directory.client(infra.token(Role.ADMIN)) as c:
        created = await c.post("/services", json=body)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    async with directory.client() as c:
        got = await c.get(f"/services/{body['id']}")
        assert got.status_code == 200
        doc = got.json()
        assert doc["organization"]["name"] == "Alder Family Services"
        assert doc["organization_id"] == body["organization"]["id"]
        assert doc["x_bridges"]["capacity_status"] == "limited"
        assert "last_modified" in doc
        unchanged = await c.get(f"/services/{body['id']}", headers={"If-None-Match": '"1"'})
        assert unchanged.status_code == 304
        page = (await c.get("/services", params={"search": "clínica", "per_page": 1})).json()
        assert page["total_items"] == 1
        assert page["contents"][0]["id"] == body["id"]
        assert page["first_page"] and page["last_page"]
        info = (await c.get("/")).json()
        assert info["version"] == "3.0"
    assert await _outbox(directory) == 1


async def test_resubmitting_the_same_service_changes_nothing_and_emits_nothing(directory, infra):
    body = _service()
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=body)).status_code == 201
        again = await c.post("/services", json=body)
        assert again.status_code == 200
        assert again.headers["ETag"] == '"1"'
        changed = await c.put(f"/services/{body['id']}", json={**body, "name": "Renamed"})
        assert changed.headers["ETag"] == '"2"'
    assert await _outbox(directory) == 2


async def test_writes_need_an_admin_and_valid_hsds(directory, infra):
    body = _service()
    async with directory.client(infra.token(Role.OFFICER)) as c:
        assert (await c.post("/services", json=body)).status_code == 403
    async with directory.client(infra.token(Role.ADMIN)) as c:
        bad = await c.post("/services", json={**body, "status": "open-ish"})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        term = await c.post(
            "/services",
            json={
                **body,
                "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term_id": str(uuid.uuid4())}],
            },
        )
        assert term.status_code == 422
        assert term.json()["errors"][0]["path"] == "$.attributes[0].taxonomy_term_id"
    async with directory.client() as c:
        assert (await c.get(f"/services/{uuid.uuid4()}")).status_code == 404
    assert await _outbox(directory) == 0
