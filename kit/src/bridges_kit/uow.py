"""The unit of work: one transaction, the repositories bound to it, and the events it raises,
written to the outbox when it commits (cosmicpython's pattern, async, with an outbox).

    async with uow:
        referral = await uow.referrals.get(referral_id)
        ...                                   # rules decide; repositories write
        uow.emit(event)
        await uow.commit()                    # state change and its events, or neither

Leaving the block without `commit()` rolls everything back, the events included.

A use case that only adds rows, guarded by one of them (an idempotency key), may enter
`uow.in_one_statement()` instead: nothing is read in it; on commit the rows and the events go to
the database together, in one round trip, or not at all (`NothingWritten`). Each service
declares its own abstract unit of work (the repositories it offers), a PostgreSQL one for the
running service (on `bridges_kit.sql_uow.PostgresUnitOfWork`) and an in-memory one (on
`bridges_kit.fakes.InMemoryUnitOfWork`) for unit tests of its use cases. Pure: no I/O here.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Any, Self

from bridges_schema import CloudEvent


class NothingWritten(Exception):
    """A unit of work entered `in_one_statement` wrote nothing: its guarding row (its gate)
    found what it guards against, e.g. its idempotency key already taken."""


class UnitOfWork(abc.ABC):
    """What use cases and event handlers see: `emit`, `commit`, and the service's repositories."""

    def __init__(self) -> None:
        self._events: list[CloudEvent[Any]] = []
        self._open = False
        self._one_statement = False

    def in_one_statement(self) -> Self:
        """Make the next `async with` write-only: the repositories' writes are held and, on
        commit, sent with the events as one statement, made only if its first write (the gate)
        is; `commit` raises `NothingWritten` otherwise. Nothing may be read meanwhile."""
        if self._open:
            raise RuntimeError("this unit of work is already open")
        self._one_statement = True
        return self

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is already open")
        self._events = []
        try:
            await self._begin()
        except BaseException:
            self._one_statement = False
            raise
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
        try:
            await self._end(failed=exc is not None)
        finally:
            self._one_statement = False

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
