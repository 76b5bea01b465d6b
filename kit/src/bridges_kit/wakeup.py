"""Wake a polling loop early on a PostgreSQL NOTIFY (the outbox relay, the delivery worker).

LISTEN runs on a connection of its own, outside the pool, so a database restart can only
close that connection: the next `wait` opens a new one, and until it can, the loop simply
polls on its timeout. Nothing here raises on an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from bridges_kit.faults import OUTAGE_ERRORS, describe

log = structlog.get_logger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class Wakeup:
    def __init__(self, connect: Connect, channel: str) -> None:
        self._connect = connect
        self._channel = channel
        self._event = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._listening_failed = False

    def set(self) -> None:
        """Wake the waiter now (e.g. to stop)."""
        self._event.set()

    async def wait(self, timeout_s: float) -> None:
        """Until a notification (or `set`) arrives, at most `timeout_s`.

        A notification that arrived while the caller was busy wakes the next wait at once."""
        await self._listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=timeout_s)
        self._event.clear()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (*OUTAGE_ERRORS, asyncpg.PostgresError):
                conn.terminate()

    async def _listen(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        self._conn = None
        try:
            conn = await asyncio.wait_for(self._connect(), timeout=5)
            await conn.add_listener(self._channel, self._notified)
            conn.add_termination_listener(self._lost)
        except (*OUTAGE_ERRORS, asyncpg.PostgresError) as exc:
            if not self._listening_failed:  # say it once per outage, not every poll
                log.warning("listen_failed", channel=self._channel, error=describe(exc))
            self._listening_failed = True
            return
        if self._listening_failed:
            log.info("listening_again", channel=self._channel)
        self._listening_failed = False
        self._conn = conn
        self._event.set()  # notifications may have been missed while not listening

    def _notified(self, *_: object) -> None:
        self._event.set()

    def _lost(self, *_: object) -> None:
        """The listening connection closed: wake the waiter, whose next wait listens again."""
        self._conn = None
        self._event.set()
