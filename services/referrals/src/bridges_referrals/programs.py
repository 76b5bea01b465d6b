"""The program read-model: directory events applied in version order (stale ones ignored, and
leaps no directory makes refused: `domain.check_program_version`)."""

from __future__ import annotations

from uuid import UUID

import structlog

from bridges_referrals.domain import Program, check_program_version
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import CloudEvent, ServiceCapacityChanged, ServiceDeleted, ServiceUpserted

log = structlog.get_logger(__name__)


async def _check_version(uow: ReferralsUnitOfWork, service_id: UUID, version: int) -> None:
    known = (await uow.programs.get_many([service_id])).get(service_id)
    check_program_version(service_id, known.version if known else None, version)


async def on_service_upserted(event: CloudEvent[ServiceUpserted], uow: ReferralsUnitOfWork) -> None:
    data = event.data
    await _check_version(uow, data.service_id, data.version)
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
    await _check_version(uow, data.service_id, data.version)
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
    await _check_version(uow, data.service_id, data.version)
    await uow.programs.apply_change(data.service_id, data.version, deleted=True)
