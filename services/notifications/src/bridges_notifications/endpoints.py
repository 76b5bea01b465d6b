"""Where agencies and officers hear from Bridges: webhook endpoints (registered with a secret
shown once, changed, rotated, paused, sent a test), agency email recipients and officers' email
notices. What admins and ops change here is recorded with the change (`uow.actions`); the
operator's console acts as `CONSOLE`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bridges_kit.operator_actions import OperatorAction
from bridges_kit.principal import CONSOLE, Principal
from bridges_kit.signing import new_secret
from bridges_notifications import netguard
from bridges_notifications.domain import (
    AudienceKind,
    Channel,
    Endpoint,
    EndpointNotDelivering,
    EndpointNotFound,
    NewDelivery,
    NoEmail,
    OfficerPreference,
    Recipient,
    RecipientNotFound,
    UnknownEventType,
    check_may_read_agency,
)
from bridges_notifications.models import (
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    PreferenceIn,
    PreferenceOut,
    RecipientIn,
    RecipientOut,
    Rotation,
)
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import (
    REFERRAL_EVENTS,
    WEBHOOK_TESTED,
    WebhookTested,
    new_event,
)

REFERRAL_EVENT_TYPES = frozenset(spec.type for spec in REFERRAL_EVENTS)
SOURCE = "/bridges/notifications"
Networks = Sequence[netguard.Network]


def _check_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - REFERRAL_EVENT_TYPES)
    if unknown:
        raise UnknownEventType(f"unknown event type(s): {', '.join(unknown)}")


async def create(
    uow: NotificationsUnitOfWork,
    agency_id: UUID,
    spec: EndpointIn,
    allowed: Networks = (),
    actor: Principal = CONSOLE,
) -> EndpointCreated:
    _check_types(spec.event_types)
    await netguard.check_url(str(spec.url), allowed)
    now = datetime.now(UTC)
    async with uow:
        endpoint = await uow.endpoints.add(
            Endpoint(
                id=uuid.uuid4(),
                agency_id=agency_id,
                url=str(spec.url),
                secret=new_secret(),
                enabled=spec.enabled,
                event_types=tuple(spec.event_types),
                description=spec.description,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.actions.record(
            OperatorAction.by(actor, "endpoint.add", endpoint.id, agency_id=str(agency_id))
        )
        await uow.commit()
    return EndpointCreated.with_secret(endpoint)


async def update(
    uow: NotificationsUnitOfWork,
    agency_id: UUID,
    endpoint_id: UUID,
    spec: EndpointIn,
    allowed: Networks = (),
    actor: Principal = CONSOLE,
) -> EndpointOut:
    _check_types(spec.event_types)
    await netguard.check_url(str(spec.url), allowed)
    async with uow:
        endpoint = await uow.endpoints.change(
            agency_id,
            endpoint_id,
            url=str(spec.url),
            enabled=spec.enabled,
            event_types=spec.event_types,
            description=spec.description,
        )
        if endpoint is None:
            raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
        await uow.actions.record(
            OperatorAction.by(
                actor,
                "endpoint.change",
                endpoint_id,
                agency_id=str(agency_id),
                enabled=spec.enabled,
            )
        )
        await uow.commit()
    return EndpointOut.model_validate(endpoint)


async def list_for_agency(
    uow: NotificationsUnitOfWork, agency_id: UUID, *, reader: Principal | None
) -> list[EndpointOut]:
    """An agency's endpoints, for whoever may read them (see `domain.may_read_agency`)."""
    check_may_read_agency(reader, agency_id)
    async with uow:
        return [EndpointOut.model_validate(e) for e in await uow.endpoints.of_agency(agency_id)]


async def rotate_secret(
    uow: NotificationsUnitOfWork,
    agency_id: UUID,
    endpoint_id: UUID,
    rotation: Rotation,
    actor: Principal = CONSOLE,
) -> EndpointCreated:
    """A new secret (shown once); the old one keeps signing during the overlap window."""
    async with uow:
        endpoint = await uow.endpoints.rotate_secret(
            agency_id, endpoint_id, new_secret(), timedelta(hours=rotation.overlap_hours)
        )
        if endpoint is None:
            raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
        await uow.actions.record(
            OperatorAction.by(
                actor, "endpoint.rotate_secret", endpoint_id, overlap_hours=rotation.overlap_hours
            )
        )
        await uow.commit()
    return EndpointCreated.with_secret(endpoint)


async def set_paused(
    uow: NotificationsUnitOfWork, endpoint_id: UUID, paused: bool, actor: Principal = CONSOLE
) -> EndpointOut:
    async with uow:
        endpoint = await uow.endpoints.set_paused(endpoint_id, paused)
        if endpoint is None:
            raise EndpointNotFound(f"no endpoint {endpoint_id}")
        if not paused:  # what waited is due again
            await uow.deliveries.wake()
        action = "endpoint.pause" if paused else "endpoint.resume"
        await uow.actions.record(OperatorAction.by(actor, action, endpoint_id))
        await uow.commit()
    return EndpointOut.model_validate(endpoint)


async def send_test(
    uow: NotificationsUnitOfWork, agency_id: UUID, endpoint_id: UUID, actor: Principal = CONSOLE
) -> UUID:
    """Queue a signed test event to one endpoint (about no referral): its delivery, followed
    like any other (`GET /deliveries/{id}`), shows whether the agency's receiver takes it."""
    async with uow:
        endpoint = next(
            (e for e in await uow.endpoints.of_agency(agency_id) if e.id == endpoint_id), None
        )
        if endpoint is None:
            raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
        if not endpoint.enabled or endpoint.paused:
            raise EndpointNotDelivering(
                "the endpoint is disabled or paused: enable or resume it, then send a test"
            )
        event = new_event(
            WEBHOOK_TESTED,
            WebhookTested(
                endpoint_id=endpoint_id, agency_id=agency_id, requested_at=datetime.now(UTC)
            ),
            source=SOURCE,
            subject=str(endpoint_id),
        )
        delivery = NewDelivery(
            id=uuid.uuid4(),
            event_id=event.id,
            event_type=event.type,
            referral_id=None,
            agency_id=agency_id,
            channel=Channel.WEBHOOK,
            target=str(endpoint_id),
            audience=AudienceKind.AGENCY,
            payload=event.model_dump_json().encode(),
            endpoint_id=endpoint_id,
        )
        await uow.deliveries.add([delivery])
        await uow.actions.record(
            OperatorAction.by(actor, "endpoint.test", endpoint_id, delivery_id=str(delivery.id))
        )
        await uow.commit()
    return delivery.id


async def add_recipient(
    uow: NotificationsUnitOfWork,
    agency_id: UUID,
    spec: RecipientIn,
    actor: Principal = CONSOLE,
) -> RecipientOut:
    async with uow:
        recipient = await uow.recipients.put(
            Recipient(
                uuid.uuid4(),
                agency_id,
                str(spec.address),
                spec.language,
                spec.enabled,
                datetime.now(UTC),
            )
        )
        # the address is staff's personal data: the record names the recipient's id only
        await uow.actions.record(
            OperatorAction.by(
                actor, "recipient.put", recipient.id, agency_id=str(agency_id), enabled=spec.enabled
            )
        )
        await uow.commit()
    return RecipientOut.model_validate(recipient)


async def remove_recipient(
    uow: NotificationsUnitOfWork, agency_id: UUID, recipient_id: UUID, actor: Principal = CONSOLE
) -> None:
    async with uow:
        if not await uow.recipients.remove(agency_id, recipient_id):
            raise RecipientNotFound(f"agency {agency_id} has no recipient {recipient_id}")
        await uow.actions.record(
            OperatorAction.by(actor, "recipient.remove", recipient_id, agency_id=str(agency_id))
        )
        await uow.commit()


async def recipients(
    uow: NotificationsUnitOfWork, agency_id: UUID, *, reader: Principal | None
) -> list[RecipientOut]:
    """An agency's email recipients, for whoever may read them (see `domain.may_read_agency`)."""
    check_may_read_agency(reader, agency_id)
    async with uow:
        return [RecipientOut.model_validate(r) for r in await uow.recipients.of_agency(agency_id)]


async def set_preference(
    uow: NotificationsUnitOfWork, officer_id: str, token_email: str | None, spec: PreferenceIn
) -> PreferenceOut:
    email = str(spec.email) if spec.email else token_email
    if not email:
        raise NoEmail("give an email address: your token carries none")
    async with uow:
        preference = await uow.preferences.put(
            OfficerPreference(officer_id, email, spec.enabled, spec.language)
        )
        await uow.commit()
    return PreferenceOut.model_validate(preference)
