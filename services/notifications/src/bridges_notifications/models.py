"""What the notifications API accepts and returns (pydantic, with limits on every field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field

from bridges_notifications.domain import Endpoint, OfficerPreference, Recipient


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

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            agency_id=endpoint.agency_id,
            url=endpoint.url,
            enabled=endpoint.enabled,
            paused=endpoint.paused,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            previous_secret_until=endpoint.previous_secret_until,
            consecutive_failures=endpoint.consecutive_failures,
            circuit_open_until=endpoint.circuit_open_until,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class EndpointCreated(EndpointOut):
    secret: str = Field(description="shown only now: store it to verify signatures")

    @classmethod
    def with_secret(cls, endpoint: Endpoint) -> EndpointCreated:
        return cls(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(
        default=24, ge=0, le=24 * 30, description="how long the old secret still signs"
    )


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

    @classmethod
    def of(cls, recipient: Recipient) -> RecipientOut:
        return cls(
            id=recipient.id,
            agency_id=recipient.agency_id,
            address=recipient.address,
            language=recipient.language,
            enabled=recipient.enabled,
            created_at=recipient.created_at,
        )


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

    @classmethod
    def of(cls, preference: OfficerPreference) -> PreferenceOut:
        return cls(
            officer_id=preference.officer_id,
            email=preference.email,
            enabled=preference.enabled,
            language=preference.language,
        )
