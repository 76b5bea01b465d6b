"""The lists the tablet polls answer conditionally over real HTTP: an ETag over the body, 304
with no body while nothing changed, a new ETag once something did; never cached."""

from __future__ import annotations

import pytest

from bridges_schema import Role

LISTS = [(Role.OFFICER, "/referrals?mine=true"), (Role.AGENCY_STAFF, "/inbox")]


@pytest.mark.parametrize(("role", "path"), LISTS, ids=["officer", "inbox"])
async def test_a_polled_list_is_304_until_a_referral_is_filed(desk, role, path):
    await desk.file()
    async with desk.client(role) as c:
        first = await c.get(path)
        etag = first.headers["etag"]
        again = await c.get(path, headers={"If-None-Match": etag})
        await desk.file()
        changed = await c.get(path, headers={"If-None-Match": etag})
    assert first.status_code == 200 and len(first.json()["items"]) == 1
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "no-store, private"
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-store, private"
    assert changed.status_code == 200 and len(changed.json()["items"]) == 2
    assert changed.headers["etag"] != etag


async def test_a_list_of_tags_or_a_weak_tag_matches_too(desk):
    async with desk.client(Role.OFFICER) as c:
        etag = (await c.get("/referrals")).headers["etag"]
        listed = await c.get("/referrals", headers={"If-None-Match": f'"other", {etag}'})
        weak = await c.get("/referrals", headers={"If-None-Match": f"W/{etag}"})
        other = await c.get("/referrals", headers={"If-None-Match": '"other"'})
    assert (listed.status_code, weak.status_code, other.status_code) == (304, 304, 200)


async def test_each_reader_polls_its_own_list(desk):
    await desk.file()
    async with desk.client(Role.AGENCY_STAFF) as c:
        etag = (await c.get("/inbox")).headers["etag"]
    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_b) as c:
        other_agency = await c.get("/inbox", headers={"If-None-Match": etag})
    assert other_agency.status_code == 200 and other_agency.json()["items"] == []


async def test_the_schema_documents_the_page_and_the_304(desk):
    async with desk.service.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    for path in ("/referrals", "/inbox"):
        answers = paths[path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ReferralPage"
        }
        assert "304" in answers
        assert "If-None-Match" in {p["name"] for p in paths[path]["get"]["parameters"]}
