"""Retention: the family's personal data is erased once every referral of its case closed
longer ago than the retention period. What statistics need (needs, urgency, programs, statuses
and their times) stays; each purge is written to the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bridges_referrals import audit
from bridges_referrals.domain import Clock, utc_now
from bridges_referrals.uow import ReferralsUnitOfWork


async def purge_closed_cases(
    uow: ReferralsUnitOfWork,
    retention: timedelta,
    batch: int = 200,
    clock: Clock = utc_now,
) -> int:
    """Purge one batch of cases due for it; returns how many (call again while it is `batch`)."""
    async with uow:
        now = clock()
        due = await uow.cases.purgeable(now - retention, batch)
        for case_id in due:
            await uow.cases.purge(case_id, now)
            await uow.audit.record(
                audit.SYSTEM,
                audit.Action.PII_PURGED,
                case_id=case_id,
                detail={"retention_days": retention.days},
            )
        await uow.commit()
    return len(due)


async def purge_all(
    new_uow: Callable[[], ReferralsUnitOfWork], retention: timedelta, batch: int = 200
) -> int:
    """Purge every case due for it, a batch per unit of work; returns how many."""
    purged = 0
    while True:
        done = await purge_closed_cases(new_uow(), retention, batch)
        purged += done
        if done < batch:
            return purged
