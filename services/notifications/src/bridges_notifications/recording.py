"""Attempts recorded in groups (group commit): an attempt that ends while a commit is under way
joins the next one, so a burst of deliveries costs one transaction rather than one each.

Nothing is weaker for it: `record` returns only once its attempt is committed, and the delivery
worker holds the delivery's slot (and its lease) until then. If the group fails because the
database is away, every attempt in it fails alike (their leases expire and they are tried
again, as when one attempt's transaction fails). If it fails for any other reason, its attempts
are recorded one by one, so one bad delivery cannot fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bridges_kit.faults import OUTAGE_ERRORS
from bridges_notifications import attempts, retry
from bridges_notifications.domain import Attempted
from bridges_notifications.uow import NotificationsUnitOfWork

Waiting = tuple[Attempted, asyncio.Future[retry.Outcome]]


class AttemptRecorder:
    def __init__(
        self,
        uow: Callable[[], NotificationsUnitOfWork],
        policy: attempts.AttemptPolicy,
        max_group: int,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._max_group = max_group
        self._waiting: list[Waiting] = []
        self._committing: asyncio.Task[None] | None = None

    async def record(self, attempted: Attempted) -> retry.Outcome:
        """Record one ended attempt (with those that end meanwhile); its outcome once committed."""
        outcome: asyncio.Future[retry.Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((attempted, outcome))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_waiting())
        return await outcome

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            await self._commit(group)

    async def _commit(self, group: list[Waiting]) -> None:
        try:
            outcomes = await attempts.record_attempts(
                self._uow(), [a for a, _ in group], self._policy
            )
        except OUTAGE_ERRORS as exc:
            _fail(group, exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _fail(group, exc)
                return
            for one in group:  # find the culprit: the others must not pay for it
                await self._commit([one])
            return
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


def _fail(group: list[Waiting], exc: BaseException) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(exc)
