"""What ops see and do with deliveries: the log by status, each delivery's attempts, replay
(recorded as operators' actions), the endpoints by state, and the gauges of the flow."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from bridges_kit.metrics import Metrics
from bridges_kit.operator_actions import OperatorAction
from bridges_kit.principal import CONSOLE, Principal
from bridges_kit.sql import Params
from bridges_notifications.domain import DeliveryNotFound
from bridges_notifications.models import EndpointOut
from bridges_notifications.repository import endpoint_of
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


async def replay(
    uow: NotificationsUnitOfWork, delivery_id: UUID, actor: Principal = CONSOLE
) -> None:
    """Send a delivery again now, whatever its state (same webhook-id: receivers dedupe)."""
    async with uow:
        if not await uow.deliveries.replay(delivery_id=delivery_id):
            raise DeliveryNotFound(f"no delivery {delivery_id}")
        await uow.actions.record(OperatorAction.by(actor, "delivery.replay", delivery_id))
        await uow.commit()


async def replay_dead(
    uow: NotificationsUnitOfWork, endpoint_id: UUID | None, actor: Principal = CONSOLE
) -> int:
    """Send every dead-lettered delivery again, of one endpoint or (None) of all; how many."""
    async with uow:
        if endpoint_id is None:
            count = await uow.deliveries.replay(every_dead=True)
            action = OperatorAction.by(actor, "deliveries.replay_dead", "all", count=count)
        else:
            count = await uow.deliveries.replay(endpoint_id=endpoint_id)
            action = OperatorAction.by(actor, "endpoint.replay_dead", endpoint_id, count=count)
        await uow.actions.record(action)
        await uow.commit()
    return count


EndpointState = Literal["active", "resting", "paused", "disabled"]
ENDPOINT_STATES: tuple[EndpointState, ...] = ("active", "resting", "paused", "disabled")
# One state per endpoint, the first that holds: what stops deliveries most explicitly first.
ENDPOINT_STATE = """CASE WHEN NOT e.enabled THEN 'disabled' WHEN e.paused THEN 'paused'
    WHEN e.circuit_open_until > now() THEN 'resting' ELSE 'active' END"""


async def list_endpoints(
    pool: asyncpg.Pool, *, state: EndpointState | None = None, limit: int = 100
) -> list[EndpointOut]:
    """Every agency's endpoints (the most failing first), or those in one state."""
    p = Params()
    where = "true" if state is None else f"{ENDPOINT_STATE} = {p(state)}"
    rows = await pool.fetch(
        f"""SELECT * FROM endpoint e WHERE {where}
            ORDER BY e.consecutive_failures DESC, e.agency_id, e.created_at, e.id
            LIMIT {p(limit)}""",
        *p.values,
    )
    return [EndpointOut.model_validate(endpoint_of(r)) for r in rows]


async def sample_waiting(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """The bridges_deliveries_waiting gauge: deliveries still to be attempted, and dead ones."""
    rows = await pool.fetch(
        """SELECT status, count(*) AS n FROM delivery
           WHERE status IN ('pending', 'dead') GROUP BY status"""
    )
    counts = {row["status"]: row["n"] for row in rows}
    for status in ("pending", "dead"):
        metrics.deliveries_waiting(status=status).set(counts.get(status, 0))


async def sample_last_hour(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """bridges_deliveries_last_hour, by outcome as bridges_deliveries_total counts attempts:
    succeeded, failed (an attempt failed and the delivery waits for its next one), dead (the
    last attempt failed, or the delivery could not be attempted)."""
    row = await pool.fetchrow(
        """SELECT
             (SELECT count(*) FROM delivery WHERE finished_at > now() - interval '1 hour'
                AND status = 'succeeded') AS succeeded,
             (SELECT count(*) FROM delivery WHERE finished_at > now() - interval '1 hour'
                AND status = 'dead') AS dead,
             (SELECT count(*) FROM delivery_attempt WHERE attempted_at > now() - interval '1 hour'
                AND error IS NOT NULL) AS failed_attempts"""
    )
    metrics.deliveries_last_hour(outcome="succeeded").set(row["succeeded"])
    metrics.deliveries_last_hour(outcome="dead").set(row["dead"])
    # a dead delivery's last attempt failed too, but is counted as dead, not as failed
    metrics.deliveries_last_hour(outcome="failed").set(max(row["failed_attempts"] - row["dead"], 0))


async def sample_endpoints(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """bridges_endpoints by state: resting is a failing endpoint whose breaker is open (no
    delivery goes to it until its rest ends and one probes it)."""
    rows = await pool.fetch(
        f"""SELECT {ENDPOINT_STATE} AS state, count(*) AS n FROM endpoint e GROUP BY 1"""
    )
    counts = {row["state"]: row["n"] for row in rows}
    for state in ENDPOINT_STATES:
        metrics.endpoints(state=state).set(counts.get(state, 0))
