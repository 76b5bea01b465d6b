"""The APIs' own URLs come from the configuration (BRIDGES_PUBLIC_URL, else where the service
listens), never from the request's Host header, which the client chooses: a hostile Host
appears in no link, redirect or body, over real HTTP."""

from __future__ import annotations

import pytest

from bridges_devstack.testing import RunningService, fresh_name
from tests.conftest import BUILDERS

pytestmark = pytest.mark.e2e

HOSTILE = {"Host": "evil.example.net", "X-Forwarded-Host": "evil.example.net"}
PUBLIC_URL = "https://bridges.example.org/api/directory"


async def _start(services_factory, name: str, **env: str) -> RunningService:
    isolated = fresh_name()
    return await services_factory(
        name, BUILDERS[name], schema=isolated, namespace=isolated, extra_env=env
    )


async def test_the_api_root_links_to_the_configured_public_url(services_factory):
    directory = await _start(services_factory, "directory", BRIDGES_PUBLIC_URL=PUBLIC_URL + "/")
    async with directory.client() as c:
        root = await c.get("/", headers=HOSTILE)
    assert root.status_code == 200
    assert root.json()["openapi_url"] == f"{PUBLIC_URL}/openapi.json"


async def test_without_a_public_url_the_root_links_to_where_the_service_listens(
    services_factory,
):
    directory = await _start(services_factory, "directory")
    async with directory.client() as c:
        root = await c.get("/", headers=HOSTILE)
    assert root.json()["openapi_url"] == f"{directory.url}/openapi.json"


PROBES = {
    "directory": ["/", "/services/", "/docs", "/nowhere"],
    "referrals": ["/app", "/app/config.json", "/referrals/", "/docs"],
    "notifications": ["/deliveries/", "/docs", "/nowhere/"],
}


@pytest.mark.parametrize("name", sorted(PROBES))
async def test_a_hostile_host_header_appears_in_no_answer(services_factory, name):
    service = await _start(services_factory, name)
    async with service.client() as c:
        answers = [await c.get(path, headers=HOSTILE) for path in PROBES[name]]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        assert "evil.example" not in answer.text
        assert all("evil.example" not in value for value in answer.headers.values())
    # a missing or extra slash is not redirected (Starlette built that URL from the Host)
    assert all(answer.status_code not in (301, 302, 307, 308) for answer in answers[1:])
