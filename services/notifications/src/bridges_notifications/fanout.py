"""Referral events become deliveries (see `domain.plan_deliveries` for who hears about what),
queued at most once per (event, channel, target) however often the event arrives; and the
family's follow-up: its message when due, and its officer's alert when it has not got help."""

from __future__ import annotations

from typing import Any

import structlog

from bridges_kit import tracing
from bridges_notifications.domain import plan_deliveries, plan_family_message, plan_officer_alert
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import (
    CloudEvent,
    FamilyFeedbackReceived,
    FollowUpDue,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatusChanged,
)

log = structlog.get_logger(__name__)


async def _fan_out(
    event: CloudEvent[Any], uow: NotificationsUnitOfWork, *, agency_email: bool, officer: bool
) -> None:
    data = event.data
    audience = await uow.audiences.of_agency(data.agency_id, recipients=agency_email)
    preference = await uow.preferences.of_officer(data.officer_id) if officer else None
    with tracing.span("fan-out", attributes={"bridges.event.type": event.type}) as span:
        planned = plan_deliveries(event, audience.endpoints, audience.recipients, preference)
        span.set_attribute("bridges.deliveries.planned", len(planned))
        if not planned:
            log.info("nobody_to_notify", agency_id=str(data.agency_id), event_type=event.type)
        await uow.deliveries.add(planned)


async def on_referral_requested(
    event: CloudEvent[ReferralRequested], uow: NotificationsUnitOfWork
) -> None:
    await _fan_out(event, uow, agency_email=True, officer=False)


async def on_referral_overdue(
    event: CloudEvent[ReferralOverdue], uow: NotificationsUnitOfWork
) -> None:
    await _fan_out(event, uow, agency_email=True, officer=False)


async def on_referral_status_changed(
    event: CloudEvent[ReferralStatusChanged], uow: NotificationsUnitOfWork
) -> None:
    await _fan_out(event, uow, agency_email=False, officer=True)


async def on_follow_up_due(event: CloudEvent[FollowUpDue], uow: NotificationsUnitOfWork) -> None:
    await uow.deliveries.add([plan_family_message(event)])


async def on_family_feedback_received(
    event: CloudEvent[FamilyFeedbackReceived], uow: NotificationsUnitOfWork
) -> None:
    preference = await uow.preferences.of_officer(event.data.officer_id)
    alert = plan_officer_alert(event, preference)
    if alert is not None:
        await uow.deliveries.add([alert])
