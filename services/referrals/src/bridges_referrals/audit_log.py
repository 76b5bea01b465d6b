"""The audit log in PostgreSQL: who read a family's data or changed a referral (or its
consent), when, and from which request. Append-only (the database refuses updates and deletes)
and hash-chained (see `audit`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.logs import correlation_id
from bridges_kit.sql import Params
from bridges_referrals.audit import GENESIS, Action, Actor, Verification, entry_hash

_CHAIN_LOCK = 0x6272_6964_6175_6469  # pg_advisory_xact_lock key: one appender at a time


class SqlAuditTrail:
    """Appends entries in the transaction of the act they record (one appender at a time)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def record(
        self,
        actor: Actor,
        action: Action,
        *,
        referral_id: UUID | None = None,
        case_id: UUID | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
        prev = (
            await self._conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            or GENESIS
        )
        entry = {
            "at": datetime.now(UTC),
            "actor_id": actor.id,
            "actor_role": actor.role,
            "action": action.value,
            "referral_id": referral_id,
            "case_id": case_id,
            "request_id": correlation_id(),
            "detail": dict(detail or {}),
        }
        await self._conn.execute(
            """INSERT INTO audit_log (at, actor_id, actor_role, action, referral_id, case_id,
                   request_id, detail, prev_hash, hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            *entry.values(),
            prev,
            entry_hash(prev, entry),
        )


async def verify(conn: asyncpg.Connection) -> Verification:
    """Walk the chain from the start; report the first entry whose link or hash is wrong."""
    prev, count = GENESIS, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor("SELECT * FROM audit_log ORDER BY id", prefetch=1000):
            count += 1
            if row["prev_hash"] != prev:
                return Verification(
                    False, count, row["id"], "an entry before it is missing or changed"
                )
            if entry_hash(prev, dict(row)) != row["hash"]:
                return Verification(False, count, row["id"], "its content does not match its hash")
            prev = row["hash"]
    return Verification(True, count)


async def entries(
    conn: asyncpg.Connection,
    *,
    referral_id: UUID | None,
    actor_id: str | None,
    action: Action | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paged by id. A referral's entries include the lists that showed it
    (`pii.listed` names its referrals in its detail)."""
    p = Params()
    where = ["true"]
    if referral_id is not None:
        rid = p(referral_id)
        where.append(f"(referral_id = {rid} OR detail -> 'referrals' ? {rid}::text)")
    if actor_id is not None:
        where.append(f"actor_id = {p(actor_id)}")
    if action is not None:
        where.append(f"action = {p(action.value)}")
    if before_id is not None:
        where.append(f"id < {p(before_id)}")
    rows = await conn.fetch(
        f"""SELECT id, at, actor_id, actor_role, action, referral_id, case_id, request_id,
                   detail, hash
            FROM audit_log WHERE {" AND ".join(where)} ORDER BY id DESC LIMIT {p(limit)}""",
        *p.values,
    )
    return [dict(r) for r in rows]
