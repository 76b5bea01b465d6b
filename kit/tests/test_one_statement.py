"""A unit of work in one statement over a real PostgreSQL: its writes and its events' outbox rows
are made together, or none of them when the gate stays closed; the relay is woken only when
rows were written; a connection that died with the server before the statement is replaced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bridges_devstack.samples import service_upserted
from bridges_devstack.testing import Infra, eventually, fresh_name
from bridges_kit import db
from bridges_kit.outbox import NOTIFY_CHANNEL
from bridges_kit.sql_uow import PostgresUnitOfWork
from bridges_kit.uow import NothingWritten
from bridges_schema import Streams

NO_SERVICE_MIGRATIONS = Path(__file__).parent / "no_migrations"
STREAMS = Streams("one_statement")


class Claims(PostgresUnitOfWork):
    """A unit of work whose one repository claims a key and records a note under it."""

    def _bind(self, conn: asyncpg.Connection) -> None:
        pass

    def claim(self, key: str, note: str) -> None:
        p = self.statement.params
        self.statement.gate(
            f"INSERT INTO claim (key) VALUES ({p(key)}) ON CONFLICT DO NOTHING RETURNING true"
        )
        self.statement.write(f"INSERT INTO note (key, note) SELECT {p(key)}, {p(note)} FROM gate")


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    schema = fresh_name()
    dsn = infra.postgres_url("directory")
    NO_SERVICE_MIGRATIONS.mkdir(exist_ok=True)
    await db.migrate(dsn, schema, db.load_migrations(NO_SERVICE_MIGRATIONS))
    pool = await db.create_pool(dsn, schema, 1, 4)
    await pool.execute(
        """CREATE TABLE claim (key text PRIMARY KEY);
           CREATE TABLE note (key text REFERENCES claim (key), note text)"""
    )
    yield pool
    await pool.close()


async def _file(pool: asyncpg.Pool, key: str, note: str, events: int = 2) -> None:
    async with Claims(pool, STREAMS).in_one_statement() as uow:
        uow.claim(key, note)
        for _ in range(events):
            uow.emit(service_upserted(agency_id=None))
        await uow.commit()


async def _rows(pool: asyncpg.Pool) -> tuple[int, int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM claim"),
        await pool.fetchval("SELECT count(*) FROM note"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
    )


async def test_the_writes_and_the_events_are_made_together_or_not_at_all(pool):
    notified: list[str] = []
    listener = await pool.acquire()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: notified.append(args[2]))

    async def woken() -> bool:
        return bool(notified)

    try:
        await _file(pool, "key-1", "first")
        await eventually(woken, timeout_s=5)
        assert await _rows(pool) == (1, 1, 2)
        with pytest.raises(NothingWritten):
            await _file(pool, "key-1", "second")
        await asyncio.sleep(0.2)
        assert await _rows(pool) == (1, 1, 2)
        assert len(notified) == 1  # the relay is not woken for nothing
    finally:
        await listener.reset()
        await pool.release(listener)
    ids = [r["event_id"] for r in await pool.fetch("SELECT event_id FROM outbox ORDER BY id")]
    assert len(set(ids)) == 2


async def test_nothing_is_sent_unless_committed(pool):
    async with Claims(pool, STREAMS).in_one_statement() as uow:
        uow.claim("key-2", "abandoned")
    assert await _rows(pool) == (0, 0, 0)
    async with Claims(pool, STREAMS) as uow:  # the next use begins as usual
        assert uow.connection.is_in_transaction()


class _FirstDead:
    """The pool, but its next connection is one whose server died (the pool does not know)."""

    def __init__(self, pool: asyncpg.Pool, dead: asyncpg.Connection) -> None:
        self._pool, self._dead = pool, dead

    async def acquire(self) -> asyncpg.Connection:
        if self._dead is not None:
            dead, self._dead = self._dead, None
            return dead
        return await self._pool.acquire()

    async def release(self, conn: asyncpg.Connection) -> None:
        await self._pool.release(conn)


async def test_a_connection_dead_before_the_statement_is_replaced(pool):
    dead = await pool.acquire()
    await pool.execute("SELECT pg_terminate_backend($1)", dead.get_server_pid())
    uow = Claims(_FirstDead(pool, dead), STREAMS).in_one_statement()
    async with uow:
        uow.claim("key-3", "after a restart")
        with pytest.raises(RuntimeError, match="not open"):
            uow.connection  # noqa: B018 (none is held until the statement is sent)
        await uow.commit()
    assert await _rows(pool) == (1, 1, 0)
