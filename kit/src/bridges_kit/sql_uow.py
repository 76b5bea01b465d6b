"""The unit of work on PostgreSQL: a transaction on a pooled connection, the events written to
the outbox in it, and the processed-event record that makes consumers idempotent. Entered
`in_one_statement`, it sends no BEGIN and holds no connection: only the repositories
`_bind_statement` offers are bound, each adding its writes to `statement`, which commit sends
with the outbox rows (see `bridges_kit.one_statement`); every other repository raises
`RepositoryUnavailable`, so nothing can be read or written outside the statement's gate. In a
transaction, the statement's repositories raise the same."""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextvars import Token
from typing import Any

import asyncpg
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace

from bridges_kit import tracing
from bridges_kit.faults import OUTAGE_ERRORS
from bridges_kit.one_statement import OneStatement
from bridges_kit.outbox import enqueue_in, enqueue_many
from bridges_kit.uow import NothingWritten, UnitOfWork
from bridges_schema import CloudEvent, Streams

log = structlog.get_logger(__name__)

_BEGIN_ATTEMPTS = 3


class Repository:
    """Base of a service's SQL repositories: each works on its unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn


class RepositoryUnavailable(AttributeError):
    """A repository used in the mode of the unit of work that does not offer it: one bound to
    a connection while in one statement (it would write outside the gate), or one of the
    statement's in a transaction. An AttributeError: for `hasattr`, the repository is not there."""


class _Unbound:
    """Stands for a repository the unit of work's current mode does not offer."""

    def __init__(self, name: str, mode: str) -> None:
        self._name, self._mode = name, mode

    def __getattr__(self, attribute: str) -> Any:
        raise RepositoryUnavailable(f"uow.{self._name} is not available {self._mode}")


class PostgresUnitOfWork(UnitOfWork):
    """A transaction on a pooled connection; subclasses bind their repositories in `_bind`."""

    def __init__(self, pool: asyncpg.Pool, streams: Streams) -> None:
        super().__init__()
        self._pool = pool
        self._streams = streams
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None
        self._statement: OneStatement | None = None
        self._span: trace.Span | None = None
        self._span_token: Token[otel_context.Context] | None = None
        self._bound: set[str] = set()  # the repositories the last binding set

    def __getattr__(self, name: str) -> Any:
        # only for names never bound: a repository of the other mode, or before any opening
        if name.startswith("_"):
            raise AttributeError(name)
        mode = "in one statement" if self._one_statement else "outside an open unit of work"
        raise RepositoryUnavailable(f"uow.{name} is not available {mode}")

    @property
    def connection(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    @property
    def statement(self) -> OneStatement:
        """Where repositories put their writes when the unit of work is `in_one_statement`."""
        if self._statement is None:
            raise RuntimeError("the unit of work is not open in one statement")
        return self._statement

    @abc.abstractmethod
    def _bind(self, conn: asyncpg.Connection) -> None:
        """Create the service's repositories on `conn`."""

    def _bind_statement(self, statement: OneStatement) -> None:
        """Create the repositories that add their writes to `statement` (none by default)."""

    def _rebind(self, mode: str, bind: Callable[[Any], None], on: Any) -> None:
        """Whatever the previous binding set stands unavailable (`mode`) unless `bind(on)`
        sets it again: no repository outlives the mode it was made for."""
        before = dict(vars(self))
        for name in self._bound:
            setattr(self, name, _Unbound(name, mode))
        bind(on)
        now = vars(self)
        self._bound |= {
            name
            for name, value in now.items()
            if not name.startswith("_") and value is not before.get(name)
        }

    async def _begin(self) -> None:
        # the unit of work's span: from BEGIN (or the statement's assembly) to its end
        self._span = tracing.start_span(
            "unit of work",
            parent=otel_context.get_current(),
            attributes={"bridges.uow.one_statement": self._one_statement},
        )
        self._span_token = otel_context.attach(trace.set_span_in_context(self._span))
        try:
            await self._open_transaction()
        except BaseException:
            self._end_span(failed=True)
            raise

    def _end_span(self, *, failed: bool) -> None:
        if self._span_token is not None:
            otel_context.detach(self._span_token)
            self._span_token = None
        if self._span is not None:
            if failed:
                self._span.set_status(trace.Status(trace.StatusCode.ERROR))
            self._span.end()
            self._span = None

    async def _open_transaction(self) -> None:
        if self._one_statement:
            self._statement = OneStatement()
            self._rebind("in one statement", self._bind_statement, self._statement)
            return
        # An idle pooled connection may have died with the server (a restart) an instant before
        # the pool noticed: starting a transaction on it is safe to retry on another.
        for attempt in range(_BEGIN_ATTEMPTS):
            conn = await self._pool.acquire()
            try:
                tx = conn.transaction()
                await tx.start()
            except OUTAGE_ERRORS:
                await self._give_back(conn, broken=True)
                if attempt + 1 == _BEGIN_ATTEMPTS:
                    raise
                continue
            except BaseException:
                await self._give_back(conn, broken=True)
                raise
            self._conn, self._tx = conn, tx
            self._rebind("in a transaction", self._bind, conn)
            return

    async def _commit(self, events: list[CloudEvent[Any]]) -> None:
        if self._statement is not None:
            await self._commit_statement(self._statement, events)
            return
        if self._tx is None:
            raise RuntimeError("nothing to commit: the transaction has ended")
        await enqueue_many(self.connection, events, self._streams)
        await self._tx.commit()
        self._tx = None

    async def _commit_statement(
        self, statement: OneStatement, events: list[CloudEvent[Any]]
    ) -> None:
        self._statement = None  # sent at most once
        enqueue_in(statement, events, self._streams)
        # The gate makes the statement safe to send again, so a connection that died with the
        # server an instant before the pool noticed is replaced, as `_begin` does.
        self._conn = await self._pool.acquire()
        for attempt in range(_BEGIN_ATTEMPTS):
            try:
                written = await statement.run(self.connection)
                break
            except OUTAGE_ERRORS:
                if attempt + 1 == _BEGIN_ATTEMPTS:
                    raise
                conn, self._conn = self.connection, None
                await self._give_back(conn, broken=True)
                self._conn = await self._pool.acquire()
        if not written:
            raise NothingWritten("the statement's gate was closed: nothing was written")

    async def _end(self, *, failed: bool) -> None:
        try:
            await self._close_transaction(failed=failed)
        finally:
            self._end_span(failed=failed)

    async def _close_transaction(self, *, failed: bool) -> None:
        self._statement = None
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None:
            return
        broken = False
        try:
            if tx is not None:
                try:
                    await tx.rollback()
                except BaseException as exc:
                    broken = True
                    # when the work failed, the connection may be what failed: that error
                    # matters more than this one; a cancellation always goes on
                    if not failed or not isinstance(exc, Exception):
                        raise
        finally:
            await self._give_back(conn, broken=broken)

    async def _give_back(self, conn: asyncpg.Connection, *, broken: bool) -> None:
        """Return the connection to the pool; one whose state is unknown is closed first, so
        the pool replaces it rather than lend it out mid-operation."""
        try:
            if broken or conn.is_closed():
                conn.terminate()
        except asyncpg.InterfaceError:
            pass  # released already: the pool lets go of a connection as soon as it closes
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
