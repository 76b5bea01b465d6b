"""What one delivery attempt leads to, in one unit of work: the attempt in the log, the
endpoint's circuit breaker, and either the next try (per the retry policy) or the end of the
delivery with its `delivery.succeeded` or `delivery.dead_lettered` event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from bridges_notifications import retry
from bridges_notifications.domain import AttemptResult, BreakerPolicy, ClaimedDelivery
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_SUCCEEDED,
    CloudEvent,
    DeliveryDeadLettered,
    DeliverySucceeded,
    new_event,
)

log = structlog.get_logger(__name__)

SOURCE = "/bridges/notifications"


@dataclass(frozen=True)
class AttemptPolicy:
    schedule_s: tuple[float, ...] = retry.DEFAULT_SCHEDULE_S
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)


async def record_attempt(
    uow: NotificationsUnitOfWork,
    delivery: ClaimedDelivery,
    result: AttemptResult,
    policy: AttemptPolicy,
) -> retry.Outcome:
    outcome = retry.after_attempt(
        delivery.attempts,
        200 if result.ok else result.status_code,
        schedule=policy.schedule_s,
        retry_after=result.retry_after,
    )
    async with uow:
        await uow.deliveries.add_attempt(delivery.id, result)
        if delivery.endpoint_id is not None:
            await _count_for_breaker(uow, delivery, result, policy.breaker)
        if isinstance(outcome, retry.RetryIn):
            await uow.deliveries.retry_in(delivery.id, result.error, outcome.seconds)
        else:
            reason = outcome.reason if isinstance(outcome, retry.GiveUp) else None
            delivered = isinstance(outcome, retry.Delivered)
            finished = await uow.deliveries.finish(delivery.id, delivered, reason)
            uow.emit(outcome_event(delivery, outcome, finished))
        await uow.commit()
    if not isinstance(outcome, retry.RetryIn):
        log.info(
            "delivery_finished",
            delivery_id=str(delivery.id),
            channel=delivery.channel.value,
            outcome="succeeded" if isinstance(outcome, retry.Delivered) else "dead",
            attempts=delivery.attempts,
        )
    return outcome


async def _count_for_breaker(
    uow: NotificationsUnitOfWork,
    delivery: ClaimedDelivery,
    result: AttemptResult,
    breaker: BreakerPolicy,
) -> None:
    assert delivery.endpoint_id is not None
    if result.ok:
        await uow.endpoints.count_success(delivery.endpoint_id)
        return
    failures = await uow.endpoints.count_failure(delivery.endpoint_id)
    rest = breaker.rest_after(failures)
    if rest is not None:
        await uow.endpoints.rest_until(delivery.endpoint_id, datetime.now(UTC) + rest)
        log.warning(
            "endpoint_resting",
            endpoint_id=str(delivery.endpoint_id),
            failures=failures,
            probe_in_s=rest.total_seconds(),
        )


def outcome_event(
    delivery: ClaimedDelivery, outcome: retry.Outcome, at: datetime
) -> CloudEvent[Any]:
    common: dict[str, Any] = {
        "delivery_id": delivery.id,
        "channel": delivery.channel,
        # officers' notices are not the agency's: only agency deliveries name it
        "agency_id": delivery.agency_id if delivery.audience == "agency" else None,
        "endpoint_id": delivery.endpoint_id,
        "source_event_id": delivery.event_id,
        "source_event_type": delivery.event_type,
        "referral_id": delivery.referral_id,
        "attempts": delivery.attempts,
    }
    if isinstance(outcome, retry.GiveUp):
        dead = DeliveryDeadLettered(**common, last_error=outcome.reason[:300], dead_lettered_at=at)
        return new_event(DELIVERY_DEAD_LETTERED, dead, source=SOURCE, subject=str(delivery.id))
    succeeded = DeliverySucceeded(**common, delivered_at=at)
    return new_event(DELIVERY_SUCCEEDED, succeeded, source=SOURCE, subject=str(delivery.id))


async def give_up(uow: NotificationsUnitOfWork, delivery: ClaimedDelivery, reason: str) -> None:
    """End a delivery that cannot be attempted (a fault of ours): dead, visible, replayable."""
    outcome = retry.GiveUp(reason)
    async with uow:
        finished = await uow.deliveries.finish(delivery.id, False, reason)
        uow.emit(outcome_event(delivery, outcome, finished))
        await uow.commit()
