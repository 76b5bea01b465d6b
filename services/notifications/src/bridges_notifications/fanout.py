"""Turn a referral event into one delivery per interested endpoint of the receiving agency."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import structlog

from bridges_schema import CloudEvent

log = structlog.get_logger(__name__)

WAKE_CHANNEL = "bridges_deliveries"


async def on_referral_event(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    agency_id = event.data.agency_id
    endpoints = await conn.fetch(
        """SELECT id FROM endpoint WHERE agency_id = $1 AND enabled
           AND (cardinality(event_types) = 0 OR $2 = ANY(event_types))""",
        agency_id,
        event.type,
    )
    if not endpoints:
        log.info("no_endpoint_for_agency", agency_id=str(agency_id), event_type=event.type)
        return
    payload = event.model_dump_json().encode()
    await conn.executemany(
        """INSERT INTO delivery (id, event_id, event_type, referral_id, agency_id, endpoint_id,
               payload) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (event_id, endpoint_id) DO NOTHING""",
        [
            (
                uuid.uuid4(),
                event.id,
                event.type,
                event.data.referral_id,
                agency_id,
                e["id"],
                payload,
            )
            for e in endpoints
        ],
    )
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
