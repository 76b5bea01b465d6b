"""The family's control over its data: consent withdrawal, and purging PII after retention.

Both keep what statistics need (needs, urgency, programs, statuses and their times) and both
are written to the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

from bridges_kit.auth import Principal
from bridges_referrals import audit, casework, repository
from bridges_referrals.models import Transition
from bridges_schema import FINAL_STATUSES, ReasonCode, ReferralStatus, Role, Streams


class CaseNotFound(LookupError):
    """No such case, or not one the caller filed."""


async def withdraw_consent(
    pool: asyncpg.Pool, streams: Streams, principal: Principal, case_id: UUID, note: str | None
) -> list[UUID]:
    """Record the withdrawal; cancel the case's open referrals. Returns the cancelled ids."""
    cancelled: list[UUID] = []
    async with pool.acquire() as conn, conn.transaction():
        case = await repository.case_for_update(conn, case_id)
        if case is None or (principal.role is Role.OFFICER and case["officer_id"] != principal.sub):
            raise CaseNotFound(f"no case {case_id}")
        if case["consent_withdrawn_at"] is not None:
            return []
        await repository.withdraw_consent(conn, case_id)
        actor = audit.Actor(principal.sub, principal.role.value)
        for row in await repository.case_referrals_for_update(conn, case_id):
            if ReferralStatus(row["status"]) in FINAL_STATUSES:
                continue
            move = Transition(
                to=ReferralStatus.CANCELLED, reason=ReasonCode.CONSENT_WITHDRAWN, note=note
            )
            await casework.apply_move(conn, streams, row, actor, principal.role, move)
            cancelled.append(row["id"])
        await audit.record(
            conn,
            actor,
            audit.Action.CONSENT_WITHDRAWN,
            case_id=case_id,
            detail={"cancelled": [str(i) for i in cancelled]},
        )
    return cancelled


async def purge_closed_cases(pool: asyncpg.Pool, retention: timedelta, batch: int = 200) -> int:
    """Erase client PII of cases closed longer than `retention` ago; returns how many."""
    purged = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = await repository.purgeable_cases(conn, retention, batch)
            for case_id in ids:
                await repository.purge_case(conn, case_id)
                await audit.record(
                    conn,
                    audit.SYSTEM,
                    audit.Action.PII_PURGED,
                    case_id=case_id,
                    detail={"retention_days": retention.days},
                )
        purged += len(ids)
        if len(ids) < batch:
            return purged
