"""Kept-alive HTTP connections to webhook receivers, reused across deliveries.

Deliveries connect to the address `netguard.pin` checked, so a connection pool keyed (as httpx's
is) by the request's origin would see only an IP: an HTTPS connection opened and verified for
one host name could then carry a request for another name on the same address without its
certificate ever being checked. So each TLS host name gets a client (a pool) of its own, all
sharing one SSL context; plain HTTP needs no such care and shares one client. Clients no
delivery has used for a while are closed once idle, so host names that come and go do not
accumulate.
"""

from __future__ import annotations

import contextlib
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bridges_kit import tracing

USER_AGENT = "Bridges-Webhooks/1.0"
KEEPALIVE_EXPIRY_S = 30.0  # receivers commonly close idle connections after 60 s or more
MAX_CLIENTS = 256  # distinct TLS host names with a pool at once; the least recently used go


@dataclass
class _Entry:
    client: httpx.AsyncClient
    in_use: int = 0
    retired: bool = False


class ReceiverConnections:
    """`async with connections.client(tls_name) as client:` lends the pool for that name."""

    def __init__(self, timeout_s: float, max_connections: int) -> None:
        self._timeout = httpx.Timeout(timeout_s)
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        self._ssl: ssl.SSLContext = httpx.create_ssl_context()  # loading CAs is slow: once
        # plain HTTP's is made now, as building a client is slow: not on a first delivery
        self._entries: OrderedDict[str, _Entry] = OrderedDict({"": _Entry(self._new_client())})

    def _new_client(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            limits=self._limits,
            verify=self._ssl,
        )
        tracing.instrument_http_client(client)
        return client

    @contextlib.asynccontextmanager
    async def client(self, tls_name: str | None) -> AsyncIterator[httpx.AsyncClient]:
        """The pool for `tls_name` (None: plain HTTP)."""
        key = "" if tls_name is None else tls_name
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(self._new_client())
            await self._retire_least_recent()
        self._entries.move_to_end(key)
        entry.in_use += 1
        try:
            yield entry.client
        finally:
            entry.in_use -= 1
            if entry.retired and not entry.in_use:
                await entry.client.aclose()

    async def _retire_least_recent(self) -> None:
        while len(self._entries) > MAX_CLIENTS:
            _, entry = self._entries.popitem(last=False)
            entry.retired = True
            if not entry.in_use:
                await entry.client.aclose()

    async def close(self) -> None:
        entries, self._entries = list(self._entries.values()), OrderedDict()
        for entry in entries:
            await entry.client.aclose()
