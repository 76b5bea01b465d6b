"""The HTTP server itself against slow, numerous and malformed clients (bridges_kit.http_server),
over real sockets on 127.0.0.x, on the directory with low limits: a slowloris run is cut off
within the header timeout while /healthz answers from another address, a slow body is cut off
within the body timeout, one address gets no more than its share of connections, and what the
server or the CORS layer refuses is problem+json with the security headers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from bridges_devstack.testing import RunningService, fresh_name
from tests.conftest import BUILDERS

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT_S, BODY_TIMEOUT_S, PER_ADDRESS = 1.0, 2.0, 20
SLACK_S = 3.0  # the bound, plus room for a shared machine; never a wait for nothing
ATTACKER, SLOW_UPLOADER = "127.0.0.2", "127.0.0.3"  # Linux routes all of 127/8 to loopback
APP_ORIGIN = "https://app.example.org"


@pytest.fixture
async def directory(services_factory) -> RunningService:
    isolated = fresh_name()
    return await services_factory(
        "directory",
        BUILDERS["directory"],
        schema=isolated,
        namespace=isolated,
        extra_env={
            "BRIDGES_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "BRIDGES_HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "BRIDGES_HTTP_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
            "BRIDGES_CORS_ALLOW_ORIGINS": json.dumps([APP_ORIGIN]),
        },
    )


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(service: RunningService, source: str) -> Connection:
    url = urlsplit(service.url)
    return await asyncio.open_connection(url.hostname, url.port, local_addr=(source, 0))


async def _trickle(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    """Send `chunk` every 0.3 s (a slowloris keeps its request unfinished) until cancelled or
    the server closes the connection."""
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            await asyncio.sleep(0.3)
            writer.write(chunk)
            await writer.drain()


@contextlib.asynccontextmanager
async def _trickling(writers: list[asyncio.StreamWriter], chunk: bytes) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(_trickle(writer, chunk)) for writer in writers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _until_closed(reader: asyncio.StreamReader, within_s: float) -> bytes:
    """Everything the server sends until it closes the connection, which it must within_s."""

    async def everything() -> bytes:
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""

    return await asyncio.wait_for(everything(), timeout=within_s)


def _head_and_body(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


def _assert_problem(raw: bytes, status: int) -> dict[str, str]:
    code, headers, body = _head_and_body(raw)
    assert code == status, raw[:300]
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert json.loads(body)["status"] == status
    return headers


async def _healthz(service: RunningService) -> int:
    async with httpx.AsyncClient(timeout=2) as client:  # the liveness probe's own bound
        return (await client.get(f"{service.url}/healthz")).status_code


async def test_a_slowloris_is_cut_off_in_time_and_healthz_answers_throughout(directory):
    opened = [await _connect(directory, ATTACKER) for _ in range(PER_ADDRESS)]
    for _, writer in opened:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    async with _trickling([writer for _, writer in opened], b"X-Slow: 1\r\n"):
        # the address has its share: one more connection is refused at once, not held
        extra_reader, _ = await _connect(directory, ATTACKER)
        refused = _assert_problem(await _until_closed(extra_reader, SLACK_S), 503)
        assert refused["retry-after"] == "1"
        assert [await _healthz(directory) for _ in range(3)] == [200, 200, 200]
        # every unfinished request is answered 408 and closed within the header timeout
        answers = await asyncio.gather(
            *(_until_closed(reader, HEADER_TIMEOUT_S + SLACK_S) for reader, _ in opened)
        )
    for answer in answers:
        _assert_problem(answer, 408)
    assert await _healthz(directory) == 200
    # the address's connections were given back
    reader, writer = await _connect(directory, ATTACKER)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _head_and_body(await _until_closed(reader, SLACK_S))[0] == 200


async def test_a_body_sent_too_slowly_is_cut_off_within_the_body_timeout(directory):
    uploads = [await _connect(directory, SLOW_UPLOADER) for _ in range(3)]
    for _, writer in uploads:
        writer.write(
            b"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
    async with _trickling([writer for _, writer in uploads], b" "):
        # closed, whatever was answered before
        await asyncio.gather(*(_until_closed(r, BODY_TIMEOUT_S + SLACK_S) for r, _ in uploads))
    assert await _healthz(directory) == 200


async def test_what_the_server_cannot_parse_is_a_400_problem_with_the_security_headers(
    directory,
):
    reader, writer = await _connect(directory, "127.0.0.1")
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    _assert_problem(await _until_closed(reader, SLACK_S), 400)


async def test_an_idle_connection_is_closed_without_an_answer(directory):
    reader, _ = await _connect(directory, "127.0.0.1")
    assert await _until_closed(reader, HEADER_TIMEOUT_S + SLACK_S) == b""


async def test_a_refused_cors_preflight_is_a_problem_with_the_security_headers(directory):
    async def preflight(origin: str, method: str = "POST") -> httpx.Response:
        async with directory.client() as client:
            return await client.options(
                "/services",
                headers={"Origin": origin, "Access-Control-Request-Method": method},
            )

    allowed = await preflight(APP_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    for refused in (await preflight("https://evil.example"), await preflight(APP_ORIGIN, "TRACE")):
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.headers["x-frame-options"] == "DENY"
        assert refused.headers["cache-control"] == "no-store"
        body = refused.json()
        assert body["status"] == 400 and body["type"].endswith("/cors-refused")
        assert "access-control-allow-origin" not in refused.headers
