"""Agency webhook endpoints: register (secret shown once), list, change, and look up for fan-out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from bridges_notifications.signing import new_secret
from bridges_schema import REFERRAL_EVENTS

REFERRAL_EVENT_TYPES = frozenset(spec.type for spec in REFERRAL_EVENTS)


class EndpointNotFound(LookupError):
    """No such endpoint for this agency."""


class UnknownEventType(ValueError):
    """An event-type filter names a type Bridges does not publish."""


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[AnyHttpUrl, Field(description="https URL that receives signed POSTs")]
    enabled: bool = True
    event_types: list[Annotated[str, Field(max_length=120)]] = Field(
        default_factory=list, max_length=20, description="empty: every referral event"
    )
    description: Annotated[str, Field(max_length=200)] | None = None


class EndpointOut(BaseModel):
    id: UUID
    agency_id: UUID
    url: str
    enabled: bool
    event_types: list[str]
    description: str | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="shown only now: store it to verify signatures")


def _check_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - REFERRAL_EVENT_TYPES)
    if unknown:
        raise UnknownEventType(f"unknown event type(s): {', '.join(unknown)}")


async def create(pool: asyncpg.Pool, agency_id: UUID, spec: EndpointIn) -> EndpointCreated:
    _check_types(spec.event_types)
    secret = new_secret()
    row = await pool.fetchrow(
        """INSERT INTO endpoint (id, agency_id, url, secret, enabled, event_types, description)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        uuid.uuid4(),
        agency_id,
        str(spec.url),
        secret,
        spec.enabled,
        spec.event_types,
        spec.description,
    )
    return EndpointCreated.model_validate(dict(row))


async def update(
    pool: asyncpg.Pool, agency_id: UUID, endpoint_id: UUID, spec: EndpointIn
) -> EndpointOut:
    _check_types(spec.event_types)
    row = await pool.fetchrow(
        """UPDATE endpoint SET url = $3, enabled = $4, event_types = $5, description = $6,
               updated_at = now()
           WHERE id = $1 AND agency_id = $2 RETURNING *""",
        endpoint_id,
        agency_id,
        str(spec.url),
        spec.enabled,
        spec.event_types,
        spec.description,
    )
    if row is None:
        raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
    return EndpointOut.model_validate(dict(row))


async def list_for_agency(pool: asyncpg.Pool, agency_id: UUID) -> list[EndpointOut]:
    rows = await pool.fetch(
        "SELECT * FROM endpoint WHERE agency_id = $1 ORDER BY created_at", agency_id
    )
    return [EndpointOut.model_validate(dict(r)) for r in rows]
