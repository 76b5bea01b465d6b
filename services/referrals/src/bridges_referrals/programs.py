"""The program read-model: directory events applied in version order (stale ones ignored)."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from bridges_referrals import repository
from bridges_schema import CloudEvent, ServiceCapacityChanged, ServiceDeleted, ServiceUpserted

log = structlog.get_logger(__name__)


async def on_service_upserted(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data: ServiceUpserted = event.data
    applied = await repository.upsert_program(
        conn,
        {
            "service_id": data.service_id,
            "version": data.version,
            "name": data.name,
            "organization_name": data.organization_name,
            "agency_id": data.agency_id,
            "status": data.status,
            "accepting_referrals": data.accepting_referrals,
            "capacity_status": data.capacity_status.value,
            "taxonomy_codes": data.taxonomy_term_codes,
        },
    )
    log.info(
        "program_upserted", service_id=str(data.service_id), version=data.version, applied=applied
    )


async def on_service_capacity_changed(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data: ServiceCapacityChanged = event.data
    await repository.update_program_fields(
        conn,
        data.service_id,
        data.version,
        accepting_referrals=data.accepting_referrals,
        capacity_status=data.capacity_status.value,
    )


async def on_service_deleted(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data: ServiceDeleted = event.data
    await repository.update_program_fields(conn, data.service_id, data.version, deleted=True)
