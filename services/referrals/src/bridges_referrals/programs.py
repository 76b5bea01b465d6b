"""The program read-model: directory events applied in version order (stale ones ignored)."""

from __future__ import annotations

import structlog

from bridges_referrals.domain import Program
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import CloudEvent, ServiceCapacityChanged, ServiceDeleted, ServiceUpserted

log = structlog.get_logger(__name__)


async def on_service_upserted(event: CloudEvent[ServiceUpserted], uow: ReferralsUnitOfWork) -> None:
    data = event.data
    applied = await uow.programs.apply(
        Program(
            service_id=data.service_id,
            version=data.version,
            name=data.name,
            organization_name=data.organization_name,
            agency_id=data.agency_id,
            status=data.status,
            accepting_referrals=data.accepting_referrals,
            capacity_status=data.capacity_status.value,
            taxonomy_codes=data.taxonomy_term_codes,
            capacity_until=data.capacity_until,
            capacity_note=data.capacity_note,
        )
    )
    log.info(
        "program_upserted", service_id=str(data.service_id), version=data.version, applied=applied
    )


async def on_service_capacity_changed(
    event: CloudEvent[ServiceCapacityChanged], uow: ReferralsUnitOfWork
) -> None:
    data = event.data
    await uow.programs.apply_change(
        data.service_id,
        data.version,
        accepting_referrals=data.accepting_referrals,
        capacity_status=data.capacity_status.value,
        capacity_until=data.capacity_until,
        capacity_note=data.capacity_note,
    )


async def on_service_deleted(event: CloudEvent[ServiceDeleted], uow: ReferralsUnitOfWork) -> None:
    data = event.data
    await uow.programs.apply_change(data.service_id, data.version, deleted=True)
