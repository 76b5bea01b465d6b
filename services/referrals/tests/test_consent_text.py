"""The consent text's version the tablet records travels with the consent (real HTTP and
PostgreSQL); clients that do not send it keep working."""

from __future__ import annotations

import uuid

import pytest

from bridges_devstack.samples import consent
from bridges_schema import Role


async def test_the_text_version_is_kept_and_shown(desk):
    filed = await desk.file(consent=consent(text_version="2026-11/es"))
    referral_id = filed["referrals"][0]["id"]
    async with desk.client(Role.OFFICER) as c:
        officer_view = (await c.get(f"/referrals/{referral_id}")).json()
    async with desk.client(Role.AGENCY_STAFF) as c:
        agency_view = (await c.get(f"/referrals/{referral_id}")).json()
    assert officer_view["consent"]["text_version"] == "2026-11/es"
    assert agency_view["consent"]["text_version"] == "2026-11/es"


async def test_a_client_without_it_keeps_working(desk):
    filed = await desk.file(consent=consent())
    async with desk.client(Role.OFFICER) as c:
        view = (await c.get(f"/referrals/{filed['referrals'][0]['id']}")).json()
    assert view["consent"]["text_version"] is None


async def test_a_retry_must_name_the_same_version(desk):
    key = uuid.uuid4().hex
    given = consent(text_version="v3")
    async with desk.client(Role.OFFICER) as c:

        async def post(version: str) -> int:
            body = desk.intake([desk.program_a], consent={**given, "text_version": version})
            response = await c.post("/referrals", json=body, headers={"Idempotency-Key": key})
            return response.status_code

        assert [await post("v3"), await post("v3"), await post("v4")] == [201, 200, 422]


@pytest.mark.parametrize("version", ["", "v 1", "x" * 65, "v1;drop", "é"])
async def test_a_malformed_version_is_refused(desk, version):
    async with desk.client(Role.OFFICER) as c:
        response = await c.post(
            "/referrals",
            json=desk.intake([desk.program_a], consent=consent(text_version=version)),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"][:3] == ["body", "consent", "text_version"]
