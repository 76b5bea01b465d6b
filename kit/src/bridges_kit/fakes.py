"""An in-memory unit of work for unit tests of use cases: the services' fakes build on it.

State lives in the fake repositories' attributes; entering the unit of work snapshots them and
leaving it without a commit restores them, so a refused command changes nothing, as in
PostgreSQL. Committed events collect in `published`.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Iterable
from typing import Any

from bridges_kit.uow import UnitOfWork
from bridges_schema import CloudEvent


class InMemoryUnitOfWork(UnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[CloudEvent[Any]] = []
        self.commits = 0
        self._processed: set[tuple[str, str]] = set()
        self._snapshot: tuple[list[dict[str, Any]], set[tuple[str, str]]] | None = None

    @abc.abstractmethod
    def repositories(self) -> Iterable[object]:
        """The fake repositories whose state a rollback restores."""

    async def first_delivery(self, consumer: str, event_id: str) -> bool:
        if (consumer, event_id) in self._processed:
            return False
        self._processed.add((consumer, event_id))
        return True

    async def _begin(self) -> None:
        repositories = list(self.repositories())
        # a repository's reference to another stays a reference (copy its state, not it)
        states = [copy.deepcopy(vars(r), {id(o): o for o in repositories}) for r in repositories]
        self._snapshot = (states, set(self._processed))

    async def _commit(self, events: list[CloudEvent[Any]]) -> None:
        self.published.extend(events)
        self.commits += 1
        self._snapshot = None

    async def _end(self, *, failed: bool) -> None:
        if self._snapshot is None:
            return
        (states, processed), self._snapshot = self._snapshot, None
        for repository, state in zip(self.repositories(), states, strict=True):
            vars(repository).clear()
            vars(repository).update(state)
        self._processed = processed

    def events_of(self, data_model: type[Any]) -> list[Any]:
        """The data of the committed events carrying `data_model` (in order)."""
        return [e.data for e in self.published if isinstance(e.data, data_model)]
