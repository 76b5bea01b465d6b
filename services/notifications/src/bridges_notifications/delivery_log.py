"""What ops see and do with deliveries: the log by status, each delivery's attempts, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from bridges_kit.metrics import Metrics
from bridges_kit.sql import Params
from bridges_notifications.domain import DeliveryNotFound
from bridges_notifications.uow import NotificationsUnitOfWork


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
    agency_id: UUID | None
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


# An email address is personal data of staff: ops see "email", not the address (a family's
# message's target is its follow-up's id: the address is never here).
_COLUMNS = """id, event_id, event_type, referral_id, agency_id, endpoint_id, channel,
    CASE WHEN channel = 'email' AND audience <> 'family' THEN 'email' ELSE target END AS target,
    status, attempts,
    next_attempt_at, last_error, created_at, finished_at"""

Status = Literal["pending", "succeeded", "dead"]
Channel = Literal["webhook", "email", "sms"]


async def list_deliveries(
    pool: asyncpg.Pool,
    *,
    status: Status | None = None,
    endpoint_id: UUID | None = None,
    event_id: str | None = None,
    channel: Channel | None = None,
    limit: int = 100,
) -> list[DeliveryOut]:
    p = Params()
    where = ["true"]
    for column, value in (
        ("status", status),
        ("endpoint_id", endpoint_id),
        ("event_id", event_id),
        ("channel", channel),
    ):
        if value is not None:
            where.append(f"{column} = {p(value)}")
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM delivery WHERE {" AND ".join(where)}
            ORDER BY created_at DESC, id LIMIT {p(limit)}""",
        *p.values,
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


async def replay(uow: NotificationsUnitOfWork, delivery_id: UUID) -> None:
    """Send a delivery again now, whatever its state (same webhook-id: receivers dedupe)."""
    async with uow:
        if not await uow.deliveries.replay(delivery_id=delivery_id):
            raise DeliveryNotFound(f"no delivery {delivery_id}")
        await uow.commit()


async def replay_dead(uow: NotificationsUnitOfWork, endpoint_id: UUID) -> int:
    """Send every dead-lettered delivery of an endpoint again; returns how many."""
    async with uow:
        count = await uow.deliveries.replay(endpoint_id=endpoint_id)
        await uow.commit()
    return count


async def sample_waiting(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """The bridges_deliveries_waiting gauge: deliveries still to be attempted, and dead ones."""
    rows = await pool.fetch(
        """SELECT status, count(*) AS n FROM delivery
           WHERE status IN ('pending', 'dead') GROUP BY status"""
    )
    counts = {row["status"]: row["n"] for row in rows}
    for status in ("pending", "dead"):
        metrics.deliveries_waiting(status=status).set(counts.get(status, 0))
