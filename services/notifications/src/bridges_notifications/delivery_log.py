"""What ops see and do with deliveries: list by status, attempts, replay."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from bridges_notifications.fanout import WAKE_CHANNEL


class DeliveryNotFound(LookupError):
    """No such delivery."""


class Attempt(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    id: UUID
    event_id: str
    event_type: str
    referral_id: UUID | None
    agency_id: UUID
    endpoint_id: UUID | None
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempt_log: list[Attempt] | None = None


_COLUMNS = """id, event_id, event_type, referral_id, agency_id, endpoint_id, channel,
    CASE WHEN channel = 'email' THEN 'email' ELSE target END AS target, status, attempts,
    next_attempt_at, last_error, created_at, finished_at"""


async def list_deliveries(
    pool: asyncpg.Pool,
    *,
    status: str | None,
    endpoint_id: UUID | None,
    event_id: str | None,
    channel: str | None = None,
    limit: int,
) -> list[DeliveryOut]:
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM delivery
            WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR endpoint_id = $2)
              AND ($3::text IS NULL OR event_id = $3) AND ($5::text IS NULL OR channel = $5)
            ORDER BY created_at DESC, id LIMIT $4""",
        status,
        endpoint_id,
        event_id,
        limit,
        channel,
    )
    return [DeliveryOut.model_validate(dict(r)) for r in rows]


async def get_delivery(pool: asyncpg.Pool, delivery_id: UUID) -> DeliveryOut:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM delivery WHERE id = $1", delivery_id)
    if row is None:
        raise DeliveryNotFound(f"no delivery {delivery_id}")
    attempts = await pool.fetch(
        """SELECT attempted_at, status_code, latency_ms, error FROM delivery_attempt
           WHERE delivery_id = $1 ORDER BY id""",
        delivery_id,
    )
    return DeliveryOut.model_validate({**dict(row), "attempt_log": [dict(a) for a in attempts]})


async def replay(pool: asyncpg.Pool, delivery_id: UUID) -> DeliveryOut:
    """Send a delivery again now, whatever its state (same webhook-id: receivers dedupe)."""
    async with pool.acquire() as conn, conn.transaction():
        updated = await conn.fetchval(
            """UPDATE delivery SET status = 'pending', next_attempt_at = now(), lease_until = NULL,
                   finished_at = NULL, attempts = 0 WHERE id = $1 RETURNING id""",
            delivery_id,
        )
        if updated is None:
            raise DeliveryNotFound(f"no delivery {delivery_id}")
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return await get_delivery(pool, delivery_id)


async def replay_dead(pool: asyncpg.Pool, endpoint_id: UUID) -> int:
    """Send every dead-lettered delivery of an endpoint again; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        count = await conn.fetchval(
            """WITH replayed AS (
                   UPDATE delivery SET status = 'pending', next_attempt_at = now(),
                       lease_until = NULL, finished_at = NULL, attempts = 0
                   WHERE endpoint_id = $1 AND status = 'dead' RETURNING 1)
               SELECT count(*) FROM replayed""",
            endpoint_id,
        )
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return int(count)
