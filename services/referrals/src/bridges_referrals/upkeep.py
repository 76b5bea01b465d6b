"""Background duties of the referrals service, safe with any number of replicas.

- `SlaSweeper`: referrals past their response target get `referral.overdue`, exactly once
  (claimed with FOR UPDATE SKIP LOCKED and flagged in the same transaction as the event).
- `RetentionWorker`: purges client PII of cases closed longer than the retention period.
- `on_delivery_dead_lettered` / `on_delivery_succeeded`: whether the agency could be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import asyncpg
import structlog

from bridges_kit.outbox import enqueue_many
from bridges_referrals import privacy, repository
from bridges_referrals.casework import SOURCE
from bridges_schema import (
    REFERRAL_OVERDUE,
    CloudEvent,
    DeliveryDeadLettered,
    DeliverySucceeded,
    ReferralOverdue,
    Streams,
    new_event,
)

log = structlog.get_logger(__name__)


class _Periodic:
    """Run `tick` every `interval_s` until stopped (a failing tick is logged and retried)."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    async def tick(self) -> int:
        raise NotImplementedError

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("upkeep_failed", worker=type(self).__name__, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    def stop(self) -> None:
        self._stopping.set()


class SlaSweeper(_Periodic):
    def __init__(
        self, pool: asyncpg.Pool, streams: Streams, interval_s: float = 30.0, batch: int = 200
    ) -> None:
        super().__init__(interval_s)
        self._pool, self._streams, self._batch = pool, streams, batch

    async def tick(self) -> int:
        flagged = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await repository.claim_overdue(conn, self._batch)
                await enqueue_many(conn, [_overdue_event(r) for r in rows], self._streams)
            flagged += len(rows)
            if len(rows) < self._batch:
                break
        if flagged:
            log.info("referrals_overdue", count=flagged)
        return flagged


def _overdue_event(row: asyncpg.Record) -> CloudEvent[ReferralOverdue]:
    return new_event(
        REFERRAL_OVERDUE,
        ReferralOverdue(
            referral_id=row["id"],
            case_id=row["case_id"],
            program_id=row["program_id"],
            agency_id=row["agency_id"],
            officer_id=row["officer_id"],
            status=row["status"],
            urgency=row["urgency"],
            respond_by=row["respond_by"],
            detected_at=row["overdue_at"],
        ),
        source=SOURCE,
        subject=str(row["id"]),
    )


class RetentionWorker(_Periodic):
    def __init__(self, pool: asyncpg.Pool, retention: timedelta, interval_s: float = 3600) -> None:
        super().__init__(interval_s)
        self._pool, self._retention = pool, retention

    async def tick(self) -> int:
        purged = await privacy.purge_closed_cases(self._pool, self._retention)
        if purged:
            log.info("pii_purged", cases=purged)
        return purged


async def on_delivery_dead_lettered(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data: DeliveryDeadLettered = event.data
    if data.referral_id is not None and data.agency_id is not None:  # not officers' notices
        await repository.mark_agency_not_reached(conn, data.referral_id)


async def on_delivery_succeeded(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data: DeliverySucceeded = event.data
    if data.referral_id is not None and data.agency_id is not None:
        await repository.clear_agency_not_reached(conn, data.referral_id)
