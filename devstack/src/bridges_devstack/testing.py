"""pytest plugin: real PostgreSQL and nats-server once per session, services in-process on
free ports, each test isolated by its own database schema and NATS namespace; every test that
uses them is marked `integration` (`pytest -m "not integration"` runs the others).

External servers instead of embedded ones: BRIDGES_TEST_POSTGRES_URL (a superuser URL of a
server whose databases we may create) and BRIDGES_TEST_NATS_URL.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bridges_devstack.limits import LOCAL_RATE_LIMITS
from bridges_devstack.receiver import InProcessServer
from bridges_devstack.servers import EmbeddedNats, EmbeddedPostgres, free_port
from bridges_kit.auth import ensure_dev_keypair, mint_token
from bridges_kit.http_server import server_config
from bridges_kit.runtime import Runtime
from bridges_kit.sealing import DEV_KEY_FILE_NAME, ensure_key_file
from bridges_schema import Role

DATABASES = ("directory", "referrals", "notifications")
LISTING_LINK_KEY = "test-listing-link-key-" + "0" * 16
T = TypeVar("T")


@dataclass
class Infra:
    """The session's PostgreSQL and NATS, and the dev signing key."""

    postgres_url: Callable[[str], str]
    nats_url: str
    key_dir: Path
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None

    @property
    def private_key(self) -> str:
        return (self.key_dir / "dev-jwt-key.pem").read_text()

    @property
    def public_key_file(self) -> Path:
        return self.key_dir / "dev-jwt-key.pub.pem"

    @property
    def data_key_file(self) -> Path:
        """The key ring sealing families' data in the referrals database."""
        return self.key_dir / DEV_KEY_FILE_NAME

    def token(self, role: Role, sub: str = "tester", **claims: Any) -> str:
        return mint_token(self.private_key, sub=sub, role=role, **claims)

    def env(self, database: str, schema: str, namespace: str) -> dict[str, str]:
        """Settings for one service instance of one test (BRIDGES_* names)."""
        return {
            **LOCAL_RATE_LIMITS,
            "BRIDGES_DATABASE_URL": self.postgres_url(database),
            "BRIDGES_DB_SCHEMA": schema,
            "BRIDGES_NATS_URL": self.nats_url,
            "BRIDGES_NATS_NAMESPACE": namespace,
            "BRIDGES_JWT_PUBLIC_KEY_FILE": str(self.public_key_file),
            "BRIDGES_DATA_KEY_FILE": str(self.data_key_file),
            "BRIDGES_ENVIRONMENT": "test",
            "BRIDGES_LOG_LEVEL": "warning",
            "BRIDGES_OUTBOX_POLL_S": "0.2",
            "BRIDGES_DB_POOL_MIN": "1",
            "BRIDGES_DB_POOL_MAX": "5",
            # the directory checks the listing-review links notifications signs (one key)
            "BRIDGES_LISTING_LINK_KEY": LISTING_LINK_KEY,
        }


# Fixtures that start servers: a test that uses one (directly or through another fixture) is an
# integration test. A test that starts servers by itself says so (`pytest.mark.integration`).
SERVER_FIXTURES = frozenset({"infra", "app_stack", "browser"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs servers (PostgreSQL, NATS, a service, a browser) or a tool that "
        "`make test` installs; `make test-unit` runs the rest in seconds",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    base = tmp_path_factory.mktemp("infra")
    key_dir = base / "keys"
    ensure_dev_keypair(key_dir)
    ensure_key_file(key_dir / DEV_KEY_FILE_NAME)
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    pg_url = os.environ.get("BRIDGES_TEST_POSTGRES_URL")
    nats_url = os.environ.get("BRIDGES_TEST_NATS_URL")
    try:
        if pg_url is None:
            pg = EmbeddedPostgres(base / "pg", free_port(), fast_and_unsafe=True)
            pg.start()
            for name in DATABASES:
                pg.create_database(f"bridges_{name}")
            url_of = pg.url
        else:
            root = pg_url.rsplit("/", 1)[0]
            _create_databases(pg_url, [f"bridges_{n}" for n in DATABASES])

            def url_of(database: str = "postgres") -> str:
                return f"{root}/{database}"

        if nats_url is None:
            nats = EmbeddedNats(base / "nats", free_port())
            nats.start()
            nats_url = nats.url
        yield Infra(lambda db: url_of(f"bridges_{db}"), nats_url, key_dir, pg, nats)
    finally:
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()


def _create_databases(url: str, names: list[str]) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            for name in names:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())


@dataclass
class RunningService:
    name: str
    runtime: Runtime[Any, Any]
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]
    env: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=15, **kwargs)

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=30)


async def start_service(
    name: str,
    build: Callable[[dict[str, str]], tuple[FastAPI, Runtime[Any, Any]]],
    env: dict[str, str],
) -> RunningService:
    """Serve a service's app in this event loop on a free port (real HTTP, real lifespan)."""
    port = free_port()
    env = {**env, "BRIDGES_HTTP_PORT": str(port), "BRIDGES_HTTP_HOST": "127.0.0.1"}
    app, runtime = build(env)
    # as `serve` does (bridges_kit.http_server): the suite meets the limits production has
    config = server_config(app, runtime.settings, host="127.0.0.1", port=port)
    server = InProcessServer(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"{name} stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not start")
        await asyncio.sleep(0.02)
    return RunningService(name, runtime, f"http://127.0.0.1:{port}", server, task, env)


async def eventually(
    probe: Callable[[], Awaitable[T] | T], *, timeout_s: float = 15.0, interval_s: float = 0.05
) -> T:
    """Poll `probe` (a coroutine function, or a plain condition such as `lambda: len(seen) == 2`)
    until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        answer = probe()
        last = await answer if inspect.isawaitable(answer) else answer
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last value: {last!r})")


def fresh_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def isolation() -> tuple[str, str]:
    """A fresh (schema, namespace) pair for one test."""
    name = fresh_name()
    return name, name


@pytest.fixture
async def services_factory(
    infra: Infra,
) -> AsyncIterator[Callable[..., Awaitable[RunningService]]]:
    started: list[RunningService] = []

    async def factory(
        name: str,
        build: Callable[[dict[str, str]], tuple[FastAPI, Runtime[Any, Any]]],
        *,
        schema: str,
        namespace: str,
        extra_env: dict[str, str] | None = None,
    ) -> RunningService:
        env = {**infra.env(name, schema, namespace), **(extra_env or {})}
        running = await start_service(name, build, env)
        started.append(running)
        return running

    yield factory
    await asyncio.gather(*(running.stop() for running in started if not running.task.done()))
