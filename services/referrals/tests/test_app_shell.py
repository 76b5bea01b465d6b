"""The tablet app served under /app/: files with their cache rules, client-side routes answered
by index.html, the runtime config, nothing outside the build, and a clear 404 when no build is
configured. Through the service's ASGI app (`httpx.ASGITransport`, targets exactly as a server
passes them on): serving files needs no database, no bus and no started server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_devstack.fuzz import FUZZ, TEXT
from bridges_kit.auth import DEV_PUBLIC_KEY_NAME, ensure_dev_keypair
from bridges_kit.sealing import DEV_KEY_FILE_NAME, ensure_key_file
from bridges_referrals.bootstrap import ReferralsSettings, build_app, build_runtime

SECRET = "not-for-the-browser"
INDEX = "<!doctype html><title>Bridges</title><script src=/app/assets/index-Ab12Cd.js></script>"


def _build(root: Path) -> Path:
    """A build as Vite writes it, beside a file that must never be served."""
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "icons").mkdir()
    (dist / ".vite").mkdir()
    (dist / "index.html").write_text(INDEX)
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (dist / "manifest.webmanifest").write_text('{"name": "Bridges", "start_url": "/app/"}')
    (dist / "assets" / "index-Ab12Cd.js").write_text("console.log('app');")
    (dist / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (dist / ".vite" / "manifest.json").write_text("{}")
    (root / "secret.txt").write_text(SECRET)
    (dist / "leak.txt").symlink_to(root / "secret.txt")
    return dist


@dataclass(frozen=True)
class Shell:
    """The referrals service's HTTP app, its runtime never started."""

    app: Any

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8102")


def _shell(tmp_path: Path, **env: str) -> Shell:
    keys = tmp_path / "keys"
    ensure_dev_keypair(keys)
    settings = ReferralsSettings.from_env(
        {
            # never opened: files and the config need neither
            "BRIDGES_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
            "BRIDGES_NATS_URL": "nats://127.0.0.1:9",
            "BRIDGES_JWT_PUBLIC_KEY_FILE": str(keys / DEV_PUBLIC_KEY_NAME),
            "BRIDGES_DATA_KEY_FILE": str(ensure_key_file(keys / DEV_KEY_FILE_NAME)),
            "BRIDGES_ENVIRONMENT": "test",
            **env,
        }
    )
    return Shell(build_app(build_runtime(settings)))


@pytest.fixture
def shell(tmp_path: Path) -> Shell:
    return _shell(
        tmp_path,
        BRIDGES_APP_DIR=str(_build(tmp_path)),
        BRIDGES_APP_DIRECTORY_URL="http://127.0.0.1:8101/",
        BRIDGES_APP_OIDC_AUTHORITY="https://id.example.org/realms/bridges/",
    )


async def _raw_get(shell: Shell, target: str) -> tuple[int, bytes]:
    """GET `target` exactly as written, as a server hands it to the app (its path %-decoded
    once, the raw bytes beside it): an HTTP client would normalise dots and escapes."""
    raw_path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8102")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8102),
    }
    answer: dict[str, Any] = {"body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the request has no more to give
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await shell.app(scope, receive, send)
    return answer["status"], answer["body"]


async def test_the_app_is_served_with_its_cache_rules(shell):
    async with shell.client() as c:
        bare = await c.get("/app?lang=es")
        index = await c.get("/app/")
        asset = await c.get("/app/assets/index-Ab12Cd.js")
        worker = await c.get("/app/sw.js")
        manifest = await c.get("/app/manifest.webmanifest")
        icon = await c.get("/app/icons/icon-192.png")
    assert bare.status_code == 307 and bare.headers["location"] == "/app/?lang=es"
    assert index.status_code == 200 and index.text == INDEX
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["x-correlation-id"]  # the edge middleware passes files through
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/app/"
    assert manifest.headers["cache-control"] == "no-cache"
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert "service-worker-allowed" not in manifest.headers
    assert icon.status_code == 200 and icon.content == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "path", ["/app/referrals", "/app/referrals/3f0c-12/", "/app/inbox/new", "/app/assets"]
)
async def test_a_client_side_route_gets_index_html(shell, path):
    async with shell.client() as c:
        page = await c.get(path)
    assert page.status_code == 200 and page.text == INDEX
    assert page.headers["cache-control"] == "no-cache"


async def test_a_missing_file_is_a_404_problem(shell):
    async with shell.client() as c:
        missing = await c.get("/app/assets/index-Zz99.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_an_unchanged_file_is_a_304_and_head_has_no_body(shell):
    async with shell.client() as c:
        first = await c.get("/app/sw.js")
        again = await c.get("/app/sw.js", headers={"If-None-Match": first.headers["etag"]})
        head = await c.head("/app/")
    assert again.status_code == 304 and again.content == b""
    assert again.headers["cache-control"] == "no-cache"
    assert again.headers["service-worker-allowed"] == "/app/"
    assert head.status_code == 200 and head.content == b""


async def test_the_config_tells_the_app_where_the_apis_are(shell):
    async with shell.client() as c:
        config = await c.get("/app/config.json")
    assert config.status_code == 200 and config.headers["cache-control"] == "no-cache"
    assert config.json() == {
        "directory_url": "http://127.0.0.1:8101",
        "referrals_url": "",
        "notifications_url": "",
        "prometheus_url": "",
        "sign_in": "oidc",
        "oidc": {
            "authority": "https://id.example.org/realms/bridges",
            "client_id": "bridges-app",
            "scope": "openid profile email offline_access",
        },
        "environment": "test",
    }


async def test_the_app_may_call_the_apis_and_the_openid_provider_and_nothing_else(shell):
    async with shell.client() as c:
        page = await c.get("/app/")
    policy = dict(
        d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
    )
    assert set(policy["connect-src"].split()) == {
        "'self'",
        "http://127.0.0.1:8101",
        "https://id.example.org",
    }
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "target",
    [
        "/app/../secret.txt",
        "/app/assets/../../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E/secret.txt",
        "/app/..%2fsecret.txt",
        "/app/%2e%2e%2fsecret.txt",
        "/app/assets/..%2F..%2Fsecret.txt",
        "/app/%252e%252e/%252e%252e/secret.txt",
        "/app/..%5csecret.txt",
        "/app/..",
        "/app/%2e%2e",
        "/app//secret.txt",
        "/app/leak.txt",
        "/app/.vite/manifest.json",
        "/app/%2evite/manifest.json",
        "/app/" + "a" * 300 + ".js",
        "/app/" + "/".join(["a" * 100] * 50) + ".js",  # longer than any path may be
    ],
)
async def test_nothing_outside_the_build_is_served(shell, target):
    status, answer = await _raw_get(shell, target)
    assert status == 404, answer
    assert SECRET.encode() not in answer
    assert answer != b"{}"  # nor the build's hidden files


@FUZZ
@given(
    segments=st.lists(TEXT | st.sampled_from(["..", ".", "%2e%2e", "assets", "%2f"]), max_size=4)
)
async def test_no_path_is_a_5xx_or_leaves_the_build(shell, segments):
    target = "/app/" + "/".join(
        quote(s.encode("utf-8", "surrogatepass"), safe="%.") for s in segments
    )
    status, answer = await _raw_get(shell, target)
    assert status < 500 and SECRET.encode() not in answer, target


async def test_the_app_routes_are_not_in_the_api_schema(shell):
    async with shell.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]


@pytest.mark.parametrize("path", ["/app", "/app/", "/app/referrals"])
async def test_without_a_build_the_app_is_a_clear_404(tmp_path, path):
    async with _shell(tmp_path).client() as c:
        response = await c.get(path)
    assert response.status_code == 404
    problem = response.json()
    assert problem["type"].endswith("/app-not-built")
    assert "BRIDGES_APP_DIR" in problem["detail"]


async def test_without_a_build_the_config_still_answers_for_a_reverse_proxy(tmp_path):
    # compose: Caddy serves the app's files and sends only /app/config.json here
    service = _shell(
        tmp_path,
        BRIDGES_APP_DIRECTORY_URL="/api/directory",
        BRIDGES_APP_REFERRALS_URL="/api/referrals",
    )
    async with service.client() as c:
        config = await c.get("/app/config.json")
    assert config.status_code == 200
    assert config.json()["directory_url"] == "/api/directory"
    assert config.json()["referrals_url"] == "/api/referrals"


async def test_a_build_directory_without_index_html_is_a_clear_404(tmp_path):
    build = tmp_path / "empty-build"
    build.mkdir()
    service = _shell(tmp_path, BRIDGES_APP_DIR=str(build))
    async with service.client() as c:
        response = await c.get("/app/")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/app-not-built")
    assert str(build) not in response.text
