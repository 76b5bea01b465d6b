"""The unit of work: one transaction, the repositories bound to it, and the events it raises,
written to the outbox when it commits (cosmicpython's pattern, async, with an outbox).

    async with uow:
        referral = await uow.referrals.get(referral_id)
        ...                                   # rules decide; repositories write
        uow.emit(event)
        await uow.commit()                    # state change and its events, or neither

Leaving the block without `commit()` rolls everything back, the events included. Each service
declares its own abstract unit of work (the repositories it offers), a PostgreSQL one for the
running service and an in-memory one (see `bridges_kit.fakes`) for unit tests of its use cases.
"""

from __future__ import annotations

import abc
import contextlib
from types import TracebackType
from typing import Any, Self

import asyncpg
import structlog

from bridges_kit.outbox import enqueue_many
from bridges_schema import CloudEvent, Streams

log = structlog.get_logger(__name__)


class UnitOfWork(abc.ABC):
    """What use cases and event handlers see: `emit`, `commit`, and the service's repositories."""

    def __init__(self) -> None:
        self._events: list[CloudEvent[Any]] = []
        self._open = False

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is already open")
        self._events = []
        await self._begin()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self._events = []
        await self._end(failed=exc is not None)

    def emit(self, event: CloudEvent[Any]) -> None:
        """Publish `event` if, and only if, this unit of work commits."""
        self._events.append(event)

    async def commit(self) -> None:
        events, self._events = self._events, []
        await self._commit(events)

    @abc.abstractmethod
    async def first_delivery(self, consumer: str, event_id: str) -> bool:
        """Record that `consumer` handles `event_id` in this transaction; False if it already did."""

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self, events: list[CloudEvent[Any]]) -> None: ...

    @abc.abstractmethod
    async def _end(self, *, failed: bool) -> None:
        """Roll back what was not committed and give back the resources."""


class PostgresUnitOfWork(UnitOfWork):
    """A transaction on a pooled connection; subclasses bind their repositories in `_bind`."""

    def __init__(self, pool: asyncpg.Pool, streams: Streams) -> None:
        super().__init__()
        self._pool = pool
        self._streams = streams
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None

    @property
    def connection(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    @abc.abstractmethod
    def _bind(self, conn: asyncpg.Connection) -> None:
        """Create the service's repositories on `conn`."""

    async def _begin(self) -> None:
        self._conn = await self._pool.acquire()
        try:
            self._tx = self._conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._release()
            raise
        self._bind(self._conn)

    async def _commit(self, events: list[CloudEvent[Any]]) -> None:
        if self._tx is None:
            raise RuntimeError("nothing to commit: the transaction has ended")
        await enqueue_many(self.connection, events, self._streams)
        await self._tx.commit()
        self._tx = None

    async def _end(self, *, failed: bool) -> None:
        try:
            if self._tx is not None:
                if failed:  # the connection may be what failed: the original error matters more
                    with contextlib.suppress(
                        asyncpg.PostgresError, asyncpg.InterfaceError, OSError
                    ):
                        await self._tx.rollback()
                else:
                    await self._tx.rollback()
        finally:
            self._tx = None
            await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await self._pool.release(conn)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("connection_release_failed", error=repr(exc))
                conn.terminate()

    async def first_delivery(self, consumer: str, event_id: str) -> bool:
        first: bool | None = await self.connection.fetchval(
            """INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING RETURNING true""",
            consumer,
            event_id,
        )
        return bool(first)
