"""What delivery attempts lead to, in one unit of work: each attempt in the log, the endpoints'
circuit breakers, and for each delivery either the next try (per the retry policy) or its end
with its `delivery.succeeded` or `delivery.dead_lettered` event. Attempts that end together are
recorded together (see `recording`), as if one after another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import structlog

from bridges_notifications import retry
from bridges_notifications.domain import (
    Attempted,
    AttemptResult,
    AudienceKind,
    BreakerCount,
    BreakerPolicy,
    Channel,
    ClaimedDelivery,
    Finished,
    RetryLater,
)
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_SUCCEEDED,
    FAMILY_MESSAGE_DELIVERED,
    FAMILY_MESSAGE_UNDELIVERABLE,
    CloudEvent,
    DeliveryChannel,
    DeliveryDeadLettered,
    DeliverySucceeded,
    Domain,
    FamilyMessageDelivered,
    FamilyMessageUndeliverable,
    MessageChannel,
    new_event,
    producer_source,
)

log = structlog.get_logger(__name__)

SOURCE = producer_source(Domain.DELIVERY)


@dataclass(frozen=True)
class AttemptPolicy:
    schedule_s: tuple[float, ...] = retry.DEFAULT_SCHEDULE_S
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)


async def record_attempts(
    uow: NotificationsUnitOfWork, attempted: Sequence[Attempted], policy: AttemptPolicy
) -> list[retry.Outcome]:
    """Record attempts that ended, in one unit of work (one commit for a burst of them), with
    the same effects as recording them one after another in the order given."""
    outcomes = [
        retry.after_attempt(
            a.delivery.attempts,
            200 if a.result.ok else a.result.status_code,
            schedule=policy.schedule_s,
            retry_after=a.result.retry_after,
        )
        for a in attempted
    ]
    async with uow:
        await uow.deliveries.add_attempts(attempted)
        await _count_for_breakers(uow, attempted, policy.breaker)
        await uow.deliveries.retry_later(
            [
                RetryLater(a.delivery.id, a.result.error, outcome.seconds)
                for a, outcome in zip(attempted, outcomes, strict=True)
                if isinstance(outcome, retry.RetryIn)
            ]
        )
        ended = [
            (a.delivery, outcome)
            for a, outcome in zip(attempted, outcomes, strict=True)
            if not isinstance(outcome, retry.RetryIn)
        ]
        at = await uow.deliveries.finish(
            [
                Finished(
                    delivery.id,
                    isinstance(outcome, retry.Delivered),
                    outcome.reason if isinstance(outcome, retry.GiveUp) else None,
                )
                for delivery, outcome in ended
            ]
        )
        for delivery, outcome in ended:
            uow.emit(outcome_event(delivery, outcome, at[delivery.id]))
        await uow.commit()
    for delivery, outcome in ended:
        log.info(
            "delivery_finished",
            delivery_id=str(delivery.id),
            channel=delivery.channel.value,
            outcome="succeeded" if isinstance(outcome, retry.Delivered) else "dead",
            attempts=delivery.attempts,
        )
    return outcomes


async def record_attempt(
    uow: NotificationsUnitOfWork,
    delivery: ClaimedDelivery,
    result: AttemptResult,
    policy: AttemptPolicy,
) -> retry.Outcome:
    [outcome] = await record_attempts(uow, [Attempted(delivery, result)], policy)
    return outcome


# Channels whose one receiver (the SMS provider) rests like a failing webhook endpoint.
BREAKER_CHANNELS = frozenset({Channel.SMS})


async def _count_for_breakers(
    uow: NotificationsUnitOfWork, attempted: Sequence[Attempted], breaker: BreakerPolicy
) -> None:
    healthy: set[UUID] = set()  # endpoints already reset in this unit of work, no failure since
    for a in attempted:
        endpoint_id = a.delivery.endpoint_id
        if endpoint_id is None:
            if a.delivery.channel in BREAKER_CHANNELS:
                await _count_for_channel(uow, a, breaker)
            continue
        if a.result.ok:
            if endpoint_id not in healthy:  # a second reset would change nothing
                await uow.endpoints.count_success(endpoint_id)
                healthy.add(endpoint_id)
            continue
        healthy.discard(endpoint_id)
        counted = await uow.endpoints.count_failure(endpoint_id, probe=a.delivery.probe)
        await _rest_if_due(
            breaker,
            counted,
            a.delivery.probe,
            partial(uow.endpoints.rest_until, endpoint_id),
            "endpoint_resting",
            endpoint_id=str(endpoint_id),
        )


async def _rest_if_due(
    breaker: BreakerPolicy,
    counted: BreakerCount,
    probe: bool,
    rest_until: Callable[[datetime], Awaitable[None]],
    said: str,
    **about: str,
) -> None:
    """Rest the receiver when its failures in a row, or a failed probe, call for it (and say
    so)."""
    rest = breaker.rest_after(counted, probe=probe)
    if rest is not None:
        await rest_until(datetime.now(UTC) + rest)
        log.warning(
            said,
            failures=counted.failures,
            failed_probes=counted.failed_probes,
            probe_in_s=rest.total_seconds(),
            **about,
        )


async def _count_for_channel(
    uow: NotificationsUnitOfWork, attempted: Attempted, breaker: BreakerPolicy
) -> None:
    channel, result = attempted.delivery.channel, attempted.result
    if result.ok:
        await uow.channels.count_success(channel)
        return
    if not result.receivers_fault:  # e.g. the family's message could not be fetched
        return
    probe = attempted.delivery.probe
    counted = await uow.channels.count_failure(channel, probe=probe)
    await _rest_if_due(
        breaker,
        counted,
        probe,
        partial(uow.channels.rest_until, channel),
        "channel_resting",
        channel=channel.value,
    )


def outcome_event(
    delivery: ClaimedDelivery, outcome: retry.Outcome, at: datetime
) -> CloudEvent[Any]:
    if delivery.audience is AudienceKind.FAMILY:
        return _family_outcome_event(delivery, outcome, at)
    common: dict[str, Any] = {
        "delivery_id": delivery.id,
        "channel": DeliveryChannel(delivery.channel.value),
        # officers' notices are not the agency's: only agency deliveries name it
        "agency_id": delivery.agency_id if delivery.audience == AudienceKind.AGENCY else None,
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


def _family_outcome_event(
    delivery: ClaimedDelivery, outcome: retry.Outcome, at: datetime
) -> CloudEvent[Any]:
    """What became of a family's message: ids only (its error may name the address)."""
    common: dict[str, Any] = {
        "delivery_id": delivery.id,
        "follow_up_id": UUID(delivery.target),
        "channel": MessageChannel.SMS if delivery.channel is Channel.SMS else MessageChannel.EMAIL,
        "attempts": delivery.attempts,
    }
    subject = str(delivery.id)
    if isinstance(outcome, retry.GiveUp):
        dead = FamilyMessageUndeliverable(**common, dead_lettered_at=at)
        return new_event(FAMILY_MESSAGE_UNDELIVERABLE, dead, source=SOURCE, subject=subject)
    sent = FamilyMessageDelivered(**common, delivered_at=at)
    return new_event(FAMILY_MESSAGE_DELIVERED, sent, source=SOURCE, subject=subject)


async def give_up(uow: NotificationsUnitOfWork, delivery: ClaimedDelivery, reason: str) -> None:
    """End a delivery that cannot be attempted (a fault of ours): dead, visible, replayable."""
    outcome = retry.GiveUp(reason)
    async with uow:
        at = await uow.deliveries.finish([Finished(delivery.id, False, reason)])
        uow.emit(outcome_event(delivery, outcome, at[delivery.id]))
        await uow.commit()
