"""CORS on a bare app: an allowed origin may call the API and read its headers, any other origin
gets no CORS header at all, and a wildcard cannot be configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import Response
from pydantic import ValidationError

from bridges_kit.access import OPERATIONS, Public
from bridges_kit.bus_access import BusUser
from bridges_kit.http import create_app, router
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_kit.sql_uow import PostgresUnitOfWork

APP_ORIGIN = "http://127.0.0.1:8102"


class NoRepositories(PostgresUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        pass


def _client(origins: list[str]) -> httpx.AsyncClient:
    routes = router()

    @routes.get("/things")
    async def things(response: Response) -> list[str]:
        response.headers["ETag"] = '"1"'
        return ["a"]

    runtime = Runtime(
        ServiceSettings(service_name="cors-test", cors_allow_origins=origins),
        bus_user=BusUser("test", None),
        migrations=Path(__file__).parent,
        unit_of_work=NoRepositories,
    )
    table = {**OPERATIONS, ("GET", "/things"): Public("the CORS tests")}
    app = create_app(
        runtime, title="t", description="t", routers=[routes], error_map={}, access_table=table
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def _preflight(origin: str, headers: str = "authorization, if-none-match") -> dict[str, Any]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": headers,
    }


async def test_an_allowed_origin_may_call_and_read_the_headers():
    async with _client([APP_ORIGIN, "https://tablet.example.org"]) as c:
        preflight = await c.options("/things", headers=_preflight(APP_ORIGIN))
        got = await c.get("/things", headers={"Origin": APP_ORIGIN})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "if-none-match", "idempotency-key", "x-correlation-id"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert "*" not in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {h.strip().lower() for h in got.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "retry-after", "x-correlation-id"} <= exposed


async def test_another_origin_gets_no_cors_header():
    async with _client([APP_ORIGIN]) as c:
        preflight = await c.options("/things", headers=_preflight("http://evil.example"))
        got = await c.get("/things", headers={"Origin": "http://evil.example"})
    assert preflight.status_code == 400
    assert got.status_code == 200
    for response in (preflight, got):  # without it the browser lets no script read the answer
        assert "access-control-allow-origin" not in response.headers


async def test_a_header_outside_the_list_is_not_allowed():
    async with _client([APP_ORIGIN]) as c:
        preflight = await c.options("/things", headers=_preflight(APP_ORIGIN, "x-secret"))
    assert preflight.status_code == 400


async def test_no_origins_means_no_cors_at_all():
    async with _client([]) as c:
        preflight = await c.options("/things", headers=_preflight(APP_ORIGIN))
        got = await c.get("/things", headers={"Origin": APP_ORIGIN})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in got.headers


async def test_an_edge_refusal_is_readable_by_the_app():
    async with _client([APP_ORIGIN]) as c:
        refused = await c.get("/things?q=%00", headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN


def test_origins_come_from_the_environment_as_a_json_list(monkeypatch):
    monkeypatch.setenv("BRIDGES_CORS_ALLOW_ORIGINS", f'["{APP_ORIGIN}"]')
    assert ServiceSettings().cors_allow_origins == [APP_ORIGIN]
    env = {"BRIDGES_CORS_ALLOW_ORIGINS": f'["{APP_ORIGIN}", "https://b.example.org"]'}
    assert ServiceSettings.from_env(env).cors_allow_origins == [
        APP_ORIGIN,
        "https://b.example.org",
    ]


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://*.example.org",
        "http://127.0.0.1:8102/",
        "http://127.0.0.1:8102/app",
        "127.0.0.1:8102",
        "ftp://files.example.org",
        "https://user@example.org",
    ],
)
def test_a_wildcard_or_anything_but_an_origin_is_refused(origin):
    with pytest.raises(ValidationError, match=r"BRIDGES_CORS_ALLOW_ORIGINS|not an origin"):
        ServiceSettings(cors_allow_origins=[origin])
