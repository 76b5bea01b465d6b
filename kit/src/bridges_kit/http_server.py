"""The HTTP server a service runs (uvicorn with httptools), bounded against slow and numerous
clients: a request's headers must arrive within `header_timeout_s` (of the connection, or of the
first byte of a later request on it), its body within `body_timeout_s` of its headers, and an
idle keep-alive connection is closed after `idle_timeout_s`. A process holds at most
`max_connections` connections, and one client address at most `max_connections_per_address`
(a trusted proxy is exempt: every client arrives through it). A connection past a limit gets a
503 problem+json and is closed at once; headers too slow a 408, a body too slow a closed
connection (the route sees the client go). The server's own refusal of what is not HTTP is a
400 problem+json with the security headers too, like every other answer."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import resource
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from ipaddress import IPv4Network, IPv6Network
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bridges_kit.edge import MalformedRequest, secure_headers
from bridges_kit.problems import PROBLEM_JSON, Problem, ServiceUnavailable
from bridges_kit.settings import ServiceSettings

log = structlog.get_logger(__name__)


class RequestTimeout(Problem):
    status, title, slug = 408, "Request timeout", "request-timeout"


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    idle_timeout_s: float = 5.0
    max_connections: int = 2048
    max_connections_per_address: int = 256  # 0: no limit per address
    exempt: Sequence[IPv4Network | IPv6Network] = ()  # trusted proxies

    @classmethod
    def from_settings(cls, s: ServiceSettings) -> ConnectionLimits:
        return cls(
            header_timeout_s=s.http_header_timeout_s,
            body_timeout_s=s.http_body_timeout_s,
            idle_timeout_s=s.http_idle_timeout_s,
            max_connections=s.http_max_connections,
            max_connections_per_address=s.http_max_connections_per_address,
            exempt=tuple(s.trusted_proxies),
        )

    def counts(self, host: str) -> bool:
        """Whether connections from `host` count against the limit per address."""
        if self.max_connections_per_address <= 0:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket's peer: no address to count
            return False
        return not any(address in network for network in self.exempt)


def protocol_for(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits` (one counter per address per server)."""
    per_address: Counter[str] = Counter()

    class Bounded(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _counted_as: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                self._refuse(
                    ServiceUnavailable(
                        "this process holds as many connections as it may; retry shortly",
                        retry_after_s=1,
                    )
                )
                return
            host = self.client[0] if self.client else ""
            if limits.counts(host):
                if per_address[host] >= limits.max_connections_per_address:
                    self._refuse(
                        ServiceUnavailable(
                            "this address holds as many connections as it may; retry shortly",
                            retry_after_s=1,
                        )
                    )
                    return
                per_address[host] += 1
                self._counted_as = host
            self._arm(limits.header_timeout_s, self._headers_too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted_as is not None:
                per_address[self._counted_as] -= 1
                if per_address[self._counted_as] <= 0:
                    del per_address[self._counted_as]
                self._counted_as = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a later request on a kept-alive connection
                self._arm(limits.header_timeout_s, self._headers_too_slow)

        def on_headers_complete(self) -> None:
            self._arm(limits.body_timeout_s, self._body_too_slow)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            self._refuse(MalformedRequest(f"not an HTTP request this server can read ({msg})"))

        def _arm(self, seconds: float, then: Callable[[], None]) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, then)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.headers is None:  # not a byte of a request: just an idle connection
                self.transport.close()
                return
            self._refuse(
                RequestTimeout(
                    f"the request's headers did not arrive within {limits.header_timeout_s:g} s"
                )
            )

        def _body_too_slow(self) -> None:
            self._deadline = None
            log.info("http_body_too_slow", seconds=limits.body_timeout_s)
            self.transport.close()  # the route, if it reads, sees the client disconnect

        def _refuse(self, problem: Problem) -> None:
            if not self.transport.is_closing():
                self.transport.write(problem_response(problem))
                self.transport.close()

    return Bounded


def problem_response(problem: Problem) -> bytes:
    """`problem` as a whole HTTP/1.1 answer that closes the connection."""
    body = json.dumps(problem.body()).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if "retry_after_s" in problem.extensions:
        headers.append((b"retry-after", str(problem.extensions["retry_after_s"]).encode()))
    reason = HTTPStatus(problem.status).phrase.encode()
    lines = [b"HTTP/1.1 %d %s" % (problem.status, reason)]
    lines += [name + b": " + value for name, value in secure_headers(headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def server_config(app: FastAPI, settings: ServiceSettings, **overrides: Any) -> uvicorn.Config:
    """How every service is served (`serve`, and the suite's in-process services alike)."""
    limits = ConnectionLimits.from_settings(settings)
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "http": protocol_for(limits),
        "timeout_keep_alive": limits.idle_timeout_s,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.shutdown_grace_s),
        "lifespan": "on",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the kit trusts the proxies
        # BRIDGES_TRUSTED_PROXIES names, and only for the client address
        "proxy_headers": False,
        **overrides,
    }
    return uvicorn.Config(app, **options)


def allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files towards `needed` (up to the hard limit):
    `max_connections` must be reachable before the process runs out of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
