"""Agency webhook endpoints: register (secret shown once), list, change, and look up for fan-out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field

from bridges_notifications import netguard
from bridges_notifications.fanout import WAKE_CHANNEL
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
    paused: bool = False
    event_types: list[str]
    description: str | None
    previous_secret_until: datetime | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="shown only now: store it to verify signatures")


def _check_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - REFERRAL_EVENT_TYPES)
    if unknown:
        raise UnknownEventType(f"unknown event type(s): {', '.join(unknown)}")


async def create(
    pool: asyncpg.Pool, agency_id: UUID, spec: EndpointIn, allowed: Sequence[netguard.Network] = ()
) -> EndpointCreated:
    _check_types(spec.event_types)
    await netguard.check_url(str(spec.url), allowed)
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
    pool: asyncpg.Pool,
    agency_id: UUID,
    endpoint_id: UUID,
    spec: EndpointIn,
    allowed: Sequence[netguard.Network] = (),
) -> EndpointOut:
    _check_types(spec.event_types)
    await netguard.check_url(str(spec.url), allowed)
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


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(
        default=24, ge=0, le=24 * 30, description="how long the old secret still signs"
    )


async def rotate_secret(
    pool: asyncpg.Pool, agency_id: UUID, endpoint_id: UUID, rotation: Rotation
) -> EndpointCreated:
    """A new secret (shown once); the old one keeps signing during the overlap window."""
    row = await pool.fetchrow(
        """UPDATE endpoint SET previous_secret = secret, secret = $3,
               previous_secret_until = now() + make_interval(secs => $4), updated_at = now()
           WHERE id = $1 AND agency_id = $2 RETURNING *""",
        endpoint_id,
        agency_id,
        new_secret(),
        rotation.overlap_hours * 3600,
    )
    if row is None:
        raise EndpointNotFound(f"agency {agency_id} has no endpoint {endpoint_id}")
    return EndpointCreated.model_validate(dict(row))


async def set_paused(
    pool: asyncpg.Pool, agency_id: UUID | None, endpoint_id: UUID, paused: bool
) -> EndpointOut:
    row = await pool.fetchrow(
        """UPDATE endpoint SET paused = $3, updated_at = now(),
               consecutive_failures = CASE WHEN $3 THEN consecutive_failures ELSE 0 END,
               circuit_open_until = CASE WHEN $3 THEN circuit_open_until END
           WHERE id = $1 AND ($2::uuid IS NULL OR agency_id = $2) RETURNING *""",
        endpoint_id,
        agency_id,
        paused,
    )
    if row is None:
        raise EndpointNotFound(f"no endpoint {endpoint_id}")
    if not paused:
        await pool.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return EndpointOut.model_validate(dict(row))


# -- email recipients and officers' preferences --------------------------------------------

Language = Annotated[str, Field(pattern="^(en|es)$")]


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: EmailStr
    language: Language = "en"
    enabled: bool = True


class RecipientOut(BaseModel):
    id: UUID
    agency_id: UUID
    address: str
    language: str
    enabled: bool
    created_at: datetime


async def add_recipient(pool: asyncpg.Pool, agency_id: UUID, spec: RecipientIn) -> RecipientOut:
    row = await pool.fetchrow(
        """INSERT INTO email_recipient (id, agency_id, address, language, enabled)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (agency_id, address) DO UPDATE SET language = EXCLUDED.language,
               enabled = EXCLUDED.enabled
           RETURNING *""",
        uuid.uuid4(),
        agency_id,
        str(spec.address),
        spec.language,
        spec.enabled,
    )
    return RecipientOut.model_validate(dict(row))


async def recipients(pool: asyncpg.Pool, agency_id: UUID) -> list[RecipientOut]:
    rows = await pool.fetch(
        "SELECT * FROM email_recipient WHERE agency_id = $1 ORDER BY address", agency_id
    )
    return [RecipientOut.model_validate(dict(r)) for r in rows]


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    language: Language = "en"
    email: EmailStr | None = Field(default=None, description="default: the token's email")


class PreferenceOut(BaseModel):
    officer_id: str
    email: str
    enabled: bool
    language: str


class NoEmail(ValueError):
    """Neither the request nor the caller's token gives an email address."""


async def set_preference(
    pool: asyncpg.Pool, officer_id: str, token_email: str | None, spec: PreferenceIn
) -> PreferenceOut:
    email = str(spec.email) if spec.email else token_email
    if not email:
        raise NoEmail("give an email address: your token carries none")
    row = await pool.fetchrow(
        """INSERT INTO officer_preference (officer_id, email, enabled, language)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (officer_id) DO UPDATE SET email = EXCLUDED.email,
               enabled = EXCLUDED.enabled, language = EXCLUDED.language, updated_at = now()
           RETURNING officer_id, email, enabled, language""",
        officer_id,
        email,
        spec.enabled,
        spec.language,
    )
    return PreferenceOut.model_validate(dict(row))
