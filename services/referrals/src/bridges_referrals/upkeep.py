"""Background duties of the referrals service, safe with any number of replicas, and what it
learns from the notifications service.

- `SlaSweeper`: referrals past their response target get `referral.overdue`, exactly once
  (claimed with FOR UPDATE SKIP LOCKED and flagged in the same unit of work as the event).
- `RetentionWorker`: purges client PII of cases closed longer than the retention period.
- `FollowUpSender`: families' follow-up messages that are due get their link and their event
  (see `family.send_due`), each once.
- `on_delivery_dead_lettered` / `on_delivery_succeeded`: whether the agency could be reached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import structlog

from bridges_kit.workers import Periodic
from bridges_referrals import events, family, privacy
from bridges_referrals.domain import Clock, ReferralNotFound, utc_now
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import CloudEvent, DeliveryDeadLettered, DeliverySucceeded

log = structlog.get_logger(__name__)

UnitsOfWork = Callable[[], ReferralsUnitOfWork]


async def flag_overdue(uow: ReferralsUnitOfWork, batch: int, clock: Clock = utc_now) -> int:
    """Flag one batch of referrals past their response target; returns how many."""
    async with uow:
        now = clock()
        due = await uow.referrals.claim_overdue(now, batch)
        for referral in due:
            uow.emit(events.overdue(referral, now))
        await uow.commit()
    return len(due)


async def _in_batches(one_batch: Callable[[], Awaitable[int]], batch: int) -> int:
    """Run batches (each its own unit of work) until one is not full; how many in all."""
    done = 0
    while True:
        handled = await one_batch()
        done += handled
        if handled < batch:
            return done


class SlaSweeper(Periodic):
    def __init__(self, uow: UnitsOfWork, interval_s: float = 30.0, batch: int = 200) -> None:
        super().__init__(interval_s)
        self._uow, self._batch = uow, batch

    async def tick(self) -> int:
        flagged = await _in_batches(lambda: flag_overdue(self._uow(), self._batch), self._batch)
        if flagged:
            log.info("referrals_overdue", count=flagged)
        return flagged


class RetentionWorker(Periodic):
    def __init__(
        self, uow: UnitsOfWork, retention: timedelta, interval_s: float = 3600, batch: int = 200
    ) -> None:
        super().__init__(interval_s)
        self._uow, self._retention, self._batch = uow, retention, batch

    async def tick(self) -> int:
        purged = await privacy.purge_all(self._uow, self._retention, self._batch)
        if purged:
            log.info("pii_purged", cases=purged)
        return purged


class FollowUpSender(Periodic):
    def __init__(
        self, uow: UnitsOfWork, lifetime: timedelta, interval_s: float = 15.0, batch: int = 100
    ) -> None:
        super().__init__(interval_s)
        self._uow, self._lifetime, self._batch = uow, lifetime, batch

    async def tick(self) -> int:
        sent = await _in_batches(
            lambda: family.send_due(self._uow(), self._lifetime, self._batch), self._batch
        )
        if sent:
            log.info("follow_ups_due", count=sent)
        return sent


async def on_delivery_dead_lettered(
    event: CloudEvent[DeliveryDeadLettered], uow: ReferralsUnitOfWork
) -> None:
    data = event.data
    if data.referral_id is not None and data.agency_id is not None:  # not officers' notices
        await _set_agency_reached(uow, data.referral_id, False)


async def on_delivery_succeeded(
    event: CloudEvent[DeliverySucceeded], uow: ReferralsUnitOfWork
) -> None:
    data = event.data
    if data.referral_id is not None and data.agency_id is not None:
        await _set_agency_reached(uow, data.referral_id, True)


async def _set_agency_reached(uow: ReferralsUnitOfWork, referral_id: UUID, reached: bool) -> None:
    # referrals are never deleted: a delivery of one this service never filed is an error of
    # its sender (or a forgery): parked for ops at once, not retried (see bootstrap)
    if not await uow.referrals.set_agency_reached(referral_id, reached):
        raise ReferralNotFound(f"no referral {referral_id}")
