"""Where agencies and officers hear from Bridges: webhook endpoints (registered with a secret
shown once, changed, rotated, paused), agency email recipients and officers' email notices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bridges_kit.principal import Principal
from bridges_kit.signing import new_secret
from bridges_notifications import netguard
from bridges_notifications.domain import (
    Endpoint,
    EndpointNotFound,
    NoEmail,
    OfficerPreference,
    Recipient,
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
from bridges_schema import REFERRAL_EVENTS

REFERRAL_EVENT_TYPES = frozenset(spec.type for spec in REFERRAL_EVENTS)
Networks = Sequence[netguard.Network]


def _check_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - REFERRAL_EVENT_TYPES)
    if unknown:
        raise UnknownEventType(f"unknown event type(s): {', '.join(unknown)}")


async def create(
    uow: NotificationsUnitOfWork, agency_id: UUID, spec: EndpointIn, allowed: Networks = ()
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
        await uow.commit()
    return EndpointCreated.with_secret(endpoint)


async def update(
    uow: NotificationsUnitOfWork,
    agency_id: UUID,
    endpoint_id: UUID,
    spec: EndpointIn,
    allowed: Networks = (),
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
    uow: NotificationsUnitOfWork, agency_id: UUID, endpoint_id: UUID, rotation: Rotation
) -> EndpointCreated:
    """A new secret (shown once); the old one keeps signing during the overlap window."""
    async with uow:
        endpoint = await uow.endpoints.rotate_secret(
            agency_id, endpoint_id, new_secret(), timedelta(hours=rotation.overlap_hours)
        )
        if endpoint is None:
            raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
        await uow.commit()
    return EndpointCreated.with_secret(endpoint)


async def set_paused(uow: NotificationsUnitOfWork, endpoint_id: UUID, paused: bool) -> EndpointOut:
    async with uow:
        endpoint = await uow.endpoints.set_paused(endpoint_id, paused)
        if endpoint is None:
            raise EndpointNotFound(f"no endpoint {endpoint_id}")
        if not paused:  # what waited is due again
            await uow.deliveries.wake()
        await uow.commit()
    return EndpointOut.model_validate(endpoint)


async def add_recipient(
    uow: NotificationsUnitOfWork, agency_id: UUID, spec: RecipientIn
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
        await uow.commit()
    return RecipientOut.model_validate(recipient)


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
