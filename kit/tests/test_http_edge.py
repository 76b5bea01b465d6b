"""The HTTP edge every service shares, on a bare app: an outage is a 503 with Retry-After (never
a 500), unstorable text and deep nesting are refused before a route runs, and only well-formed
correlation ids are kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import BaseModel

from bridges_kit.access import OPERATIONS, Public
from bridges_kit.bus_access import BusUser
from bridges_kit.http import create_app, router
from bridges_kit.problems import ServiceUnavailable
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_kit.sql_uow import PostgresUnitOfWork

OUTAGES: dict[str, Exception] = {
    "starting": asyncpg.CannotConnectNowError("the database system is starting up"),
    "shutting-down": asyncpg.AdminShutdownError("terminating connection"),
    "full": asyncpg.TooManyConnectionsError("too many clients"),
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "closed": asyncpg.ConnectionDoesNotExistError("connection was closed"),
}


class Note(BaseModel):
    text: str
    tags: list[str] = []


class NoRepositories(PostgresUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        pass


def _app(**settings: Any) -> Any:
    routes = router()
    seen: list[Any] = []
    held, holding = asyncio.Event(), asyncio.Event()

    @routes.get("/held")
    async def hold() -> dict[str, bool]:
        holding.set()
        await held.wait()
        return {"released": True}

    @routes.get("/outage/{kind}")
    async def outage(kind: str) -> None:
        raise OUTAGES[kind]

    @routes.get("/unavailable")
    async def unavailable() -> None:
        raise ServiceUnavailable("the key provider is away", retry_after_s=30)

    @routes.post("/notes")
    async def add_note(note: Note) -> dict[str, Any]:
        seen.append(note)
        return {"ok": True}

    @routes.get("/search")
    async def search(q: str = "") -> dict[str, str]:
        return {"q": q}

    runtime = Runtime(
        ServiceSettings(service_name="edge-test", **settings),
        bus_user=BusUser("test", None),
        migrations=Path(__file__).parent,
        unit_of_work=NoRepositories,
    )
    anyone = Public("the edge's tests")
    table = {
        **OPERATIONS,
        **{
            (method, path): anyone
            for method, path in [
                ("GET", "/outage/{kind}"),
                ("GET", "/unavailable"),
                ("POST", "/notes"),
                ("GET", "/search"),
                ("GET", "/held"),
            ]
        },
    }
    app = create_app(
        runtime, title="t", description="t", routers=[routes], error_map={}, access_table=table
    )
    app.state.seen, app.state.held, app.state.holding = seen, held, holding
    return app


@pytest.fixture
async def client() -> Any:
    app = _app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://edge",
    ) as c:
        c.seen = app.state.seen  # type: ignore[attr-defined]
        yield c


@pytest.mark.parametrize("kind", sorted(OUTAGES))
async def test_a_database_outage_is_a_503_with_retry_after(client, kind):
    response = await client.get(f"/outage/{kind}")
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_problem_503_says_when_to_retry(client):
    response = await client.get("/unavailable")
    assert response.status_code == 503 and response.headers["retry-after"] == "30"


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ('{"text": "a\\u0000b"}', 422, ["body", "text"]),
        ('{"text": "ok", "tags": ["x", "\\ud800"]}', 422, ["body", "tags", 1]),
        ('{"text": "ok", "\\u0000": 1}', 422, ["body"]),
        ('{"text": "\\\\u0000 is only a backslash and text"}', 200, None),
        ('{"text": "😀 \\ud83d\\ude00 a proper pair"}', 200, None),
        ("[" * 2000 + "]" * 2000, 400, None),
        ('{"text": "x", "tags": ' + "[" * 70 + "]" * 70 + "}", 400, None),
        ('{"text": ', 400, None),
    ],
    ids=["nul", "surrogate", "nul-key", "escaped-backslash", "pair", "deep", "nested", "broken"],
)
async def test_json_bodies_are_checked_before_the_route(client, body, status, where):
    response = await client.post(
        "/notes", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    if status != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert client.seen == []
    if where is not None:
        assert response.json()["errors"][0]["location"] == where


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/search?q=a%00b", 400),
        ("/search?q=%ED%A0%80", 400),  # a surrogate encoded as UTF-8 bytes: not valid UTF-8
        ("/search?q=%FF", 400),
        ("/search/%00", 400),
        ("/search?q=clinica%20espa%C3%B1ol", 200),
    ],
)
async def test_urls_must_be_utf8_without_nul(client, url, status):
    response = await client.get(url)
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"q": "clinica español"}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", True),
        ("1B4E28BA-2FA1-11D2-883F-0016D3CCA427", True),
        ("Amara Diallo, 12 Elm St", False),
        ("00000000-0000-0000-0000-000000000000", False),
        ("x" * 32, False),
    ],
)
async def test_only_a_well_formed_correlation_id_is_kept(client, sent, kept):
    response = await client.get("/search", headers={"X-Correlation-Id": sent})
    echoed = response.headers["x-correlation-id"]
    assert (echoed == sent.lower()) is kept
    assert len(echoed) in (32, 36) and json.dumps(echoed).isascii()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/search?q=x", None, 200),
        ("GET", "/no-such-route", None, 404),
        ("POST", "/notes", "{", 400),  # refused at the edge itself
        ("POST", "/notes", '{"text": "' + "x" * 2_000_000 + '"}', 413),
    ],
)
async def test_every_answer_carries_the_security_headers(client, method, path, body, status):
    response = await client.request(
        method, path, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"  # may be personal: never cached
    assert "strict-transport-security" not in response.headers  # not published on HTTPS


async def test_a_chunked_body_over_the_limit_is_a_413():
    async def chunks():
        for _ in range(40):
            yield b"x" * 65_536  # 2.5 MB with no Content-Length

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(), raise_app_exceptions=False),
        base_url="http://edge",
    ) as c:
        response = await c.post(
            "/notes", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_answers_that_set_their_own_caching_keep_it_and_https_adds_hsts():
    from bridges_kit.edge import secure_headers

    public = secure_headers([(b"cache-control", b"public, max-age=60")], hsts=True)
    assert (b"cache-control", b"public, max-age=60") in public
    assert (b"cache-control", b"no-store") not in public
    assert dict(public)[b"strict-transport-security"].startswith(b"max-age=")


async def test_a_request_over_the_in_flight_limit_is_a_503_at_once_and_probes_still_answer():
    app = _app(max_in_flight=1)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
        first = asyncio.create_task(c.get("/held"))
        await asyncio.wait_for(app.state.holding.wait(), 5)  # the first one is being answered
        shed = await c.get("/search")
        assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
        assert shed.headers["content-type"] == "application/problem+json"
        assert shed.headers["x-content-type-options"] == "nosniff"  # the edge still wraps it
        assert (await c.get("/healthz")).status_code == 200  # probes are never shed
        app.state.held.set()
        assert (await first).status_code == 200
        assert (await c.get("/search")).status_code == 200  # room again


async def test_a_client_that_leaves_mid_body_is_a_499_not_a_server_error(caplog):
    app = _app()
    parts = [
        {"type": "http.request", "body": b'{"text": "half', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/notes",
        "raw_path": b"/notes",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"400")],
        "client": ("127.0.0.1", 5000),
        "server": ("edge", 80),
    }
    await app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [499]
    assert app.state.seen == []
    registry = app.state.runtime.metrics.registry
    count = registry.get_sample_value(
        "bridges_http_requests_total", {"method": "POST", "route": "/notes", "status": "499"}
    )
    assert count == 1
    errors = registry.get_sample_value(
        "bridges_http_requests_total", {"method": "POST", "route": "/notes", "status": "500"}
    )
    assert errors is None
