"""Rate limits over real HTTP, on the real service apps with low limits: writes per token and
per client address, sign-ins per address; a 429 problem+json with Retry-After that changes
nothing, reads never limited, X-Forwarded-For believed from a trusted proxy only."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bridges_devstack.testing import Infra, RunningService, eventually, fresh_name
from bridges_schema import Role
from tests.conftest import BUILDERS
from tests.scenario import program

pytestmark = pytest.mark.e2e

Start = Callable[..., Awaitable[RunningService]]


def _rate(per_minute: float, burst: int) -> str:
    return json.dumps({"per_minute": per_minute, "burst": burst})


@pytest.fixture
def start(services_factory) -> Start:
    """One service on a fresh schema with `limits` (BRIDGES_* names) over the suite's."""

    async def started(name: str, **limits: str) -> RunningService:
        isolated = fresh_name()
        return await services_factory(
            name, BUILDERS[name], schema=isolated, namespace=isolated, extra_env=limits
        )

    return started


def _assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429 and body["type"].endswith("/rate-limited")
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1 and body["retry_after_s"] == retry_after
    return retry_after


async def _create_service(client: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
    return await client.post("/services", json=program(uuid.uuid4()), **kwargs)


async def _services(directory: RunningService) -> int:
    return int(await directory.runtime.pool.fetchval("SELECT count(*) FROM service"))


async def test_the_write_after_a_tokens_burst_is_a_429_that_stores_nothing(start, infra: Infra):
    directory = await start(
        "directory", BRIDGES_RATE_LIMIT_TOKEN_WRITES=_rate(per_minute=1, burst=3)
    )
    admin = infra.token(Role.ADMIN, sub="admin-a")
    async with directory.client(admin) as c:
        created = [await _create_service(c) for _ in range(3)]
        refused = await _create_service(c)
    assert [r.status_code for r in created] == [201, 201, 201]
    assert _assert_limited(refused) > 1  # one a minute
    assert await _services(directory) == 3
    async with directory.client(infra.token(Role.ADMIN, sub="admin-b")) as other:
        assert (await _create_service(other)).status_code == 201  # another token is unaffected


async def test_reads_are_never_limited(start, infra: Infra):
    directory = await start(
        "directory",
        BRIDGES_RATE_LIMIT_TOKEN_WRITES=_rate(per_minute=1, burst=1),
        BRIDGES_RATE_LIMIT_ADDRESS_WRITES=_rate(per_minute=1, burst=2),
    )
    async with directory.client(infra.token(Role.ADMIN, sub="admin-a")) as c:
        assert (await _create_service(c)).status_code == 201
        _assert_limited(await _create_service(c))
        reads = [await c.get(path) for path in ["/services", "/", "/healthz"] * 15]
    assert {r.status_code for r in reads} == {200}


async def test_writes_are_limited_per_client_address_whatever_the_token(start, infra: Infra):
    directory = await start(
        "directory", BRIDGES_RATE_LIMIT_ADDRESS_WRITES=_rate(per_minute=1, burst=3)
    )
    statuses = []
    for n in range(4):  # a fresh token each time: only the address is the same
        async with directory.client(infra.token(Role.ADMIN, sub=f"admin-{n}")) as c:
            statuses.append(await _create_service(c))
    assert [r.status_code for r in statuses[:3]] == [201, 201, 201]
    _assert_limited(statuses[3])
    assert await _services(directory) == 3


async def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored(start, infra: Infra):
    directory = await start(
        "directory", BRIDGES_RATE_LIMIT_ADDRESS_WRITES=_rate(per_minute=1, burst=2)
    )
    async with directory.client(infra.token(Role.ADMIN)) as c:
        answers = [
            await _create_service(c, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3)
        ]
    assert [r.status_code for r in answers[:2]] == [201, 201]
    _assert_limited(answers[2])  # 127.0.0.1 is not a trusted proxy: the same client all along


async def test_a_trusted_proxy_names_the_client_but_not_what_the_client_claimed(
    start, infra: Infra
):
    directory = await start(
        "directory",
        BRIDGES_RATE_LIMIT_ADDRESS_WRITES=_rate(per_minute=1, burst=1),
        BRIDGES_TRUSTED_PROXIES='["127.0.0.1"]',
    )

    async def write(forwarded_for: str) -> int:
        async with directory.client(infra.token(Role.ADMIN)) as c:
            response = await _create_service(c, headers={"X-Forwarded-For": forwarded_for})
        return response.status_code

    assert await write("203.0.113.1") == 201
    assert await write("203.0.113.2") == 201  # another client behind the same proxy
    assert await write("203.0.113.1") == 429
    # what the client itself put on the left of the chain does not make it someone else
    assert await write("6.6.6.6, 203.0.113.2") == 429


async def test_a_limited_client_recovers_after_retry_after(start, infra: Infra):
    directory = await start(
        "directory", BRIDGES_RATE_LIMIT_TOKEN_WRITES=_rate(per_minute=60, burst=1)
    )
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await _create_service(c)).status_code == 201
        refused_at = time.monotonic()
        retry_after = _assert_limited(await _create_service(c))

        async def accepted() -> bool:
            return (await _create_service(c)).status_code == 201

        await eventually(accepted, timeout_s=retry_after + 3, interval_s=0.1)
    assert time.monotonic() - refused_at <= retry_after + 0.5
    assert await _services(directory) == 2


WRITES = {
    "directory": ("POST", "/services"),
    "referrals": ("POST", "/referrals"),
    "notifications": ("PUT", "/officers/me/notifications"),
}


@pytest.mark.parametrize("name", sorted(WRITES))
async def test_every_service_limits_writes_and_documents_the_429(start, name, infra: Infra):
    service = await start(name, BRIDGES_RATE_LIMIT_ADDRESS_WRITES=_rate(per_minute=1, burst=1))
    method, path = WRITES[name]
    async with service.client() as c:
        first = await c.request(method, path, json={})
        second = await c.request(method, path, json={})
        schema = (await c.get("/openapi.json")).json()
    assert 400 <= first.status_code < 500 and first.status_code != 429
    _assert_limited(second)
    operations = [
        (verb, route, operation)
        for route, item in schema["paths"].items()
        for verb, operation in item.items()
    ]
    writes = [op for verb, _, op in operations if verb in ("post", "put", "patch", "delete")]
    assert writes and all("429" in op["responses"] for op in writes)
    assert all("429" not in op["responses"] for verb, _, op in operations if verb == "get")
