"""The unit of work on PostgreSQL: a transaction on a pooled connection, the events written to
the outbox in it, and the processed-event record that makes consumers idempotent."""

from __future__ import annotations

import abc
import contextlib
from typing import Any

import asyncpg
import structlog

from bridges_kit.outbox import enqueue_many
from bridges_kit.uow import UnitOfWork
from bridges_schema import CloudEvent, Streams

log = structlog.get_logger(__name__)


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
