"""The events the directory publishes, built from programs (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from bridges_directory import hsds
from bridges_schema import (
    SERVICE_CAPACITY_CHANGED,
    SERVICE_DELETED,
    SERVICE_UPSERTED,
    CloudEvent,
    Domain,
    ServiceCapacityChanged,
    ServiceDeleted,
    ServiceUpserted,
    new_event,
    producer_source,
)

SOURCE = producer_source(Domain.DIRECTORY)
MAX_TERM_CODES = 50


def upserted(
    service: hsds.Service, version: int, modified: datetime, codes: Mapping[UUID, str]
) -> CloudEvent[ServiceUpserted]:
    """`codes` maps taxonomy term ids to the codes events carry."""
    ext = service.x_bridges
    term_ids = sorted({a.taxonomy_term_id for a in service.attributes if a.taxonomy_term_id})
    return new_event(
        SERVICE_UPSERTED,
        ServiceUpserted(
            service_id=service.id,
            version=version,
            organization_id=service.organization.id,
            organization_name=service.organization.name,
            agency_id=ext.agency_id,
            name=service.name,
            status=service.status,
            accepting_referrals=ext.accepting_referrals,
            capacity_status=ext.capacity_status,
            taxonomy_term_codes=tuple(sorted(codes[t] for t in term_ids if t in codes))[
                :MAX_TERM_CODES
            ],
            last_verified=ext.last_verified,
            modified_at=modified,
        ),
        source=SOURCE,
        subject=str(service.id),
    )


def capacity_changed(
    service_id: UUID,
    version: int,
    agency_id: UUID | None,
    extension: hsds.BridgesExtension,
    at: datetime,
) -> CloudEvent[ServiceCapacityChanged]:
    return new_event(
        SERVICE_CAPACITY_CHANGED,
        ServiceCapacityChanged(
            service_id=service_id,
            version=version,
            agency_id=agency_id,
            accepting_referrals=extension.accepting_referrals,
            capacity_status=extension.capacity_status,
            changed_at=at,
        ),
        source=SOURCE,
        subject=str(service_id),
    )


def deleted(
    service_id: UUID, version: int, agency_id: UUID | None, at: datetime
) -> CloudEvent[ServiceDeleted]:
    return new_event(
        SERVICE_DELETED,
        ServiceDeleted(service_id=service_id, version=version, agency_id=agency_id, deleted_at=at),
        source=SOURCE,
        subject=str(service_id),
    )
