"""What the notifications API accepts and returns (pydantic, with limits on every field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field

from bridges_notifications.domain import Endpoint


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[AnyHttpUrl, Field(description="https URL that receives signed POSTs")]
    enabled: bool = True
    event_types: list[Annotated[str, Field(max_length=120)]] = Field(
        default_factory=list, max_length=20, description="empty: every referral event"
    )
    description: Annotated[str, Field(max_length=200)] | None = None


class _FromDomain(BaseModel):
    """Built from the domain's dataclasses by attribute (`model_validate(obj)`)."""

    model_config = ConfigDict(from_attributes=True)


class EndpointOut(_FromDomain):
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

    @classmethod
    def with_secret(cls, endpoint: Endpoint) -> EndpointCreated:
        return cls.model_validate(endpoint)


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


class RecipientOut(_FromDomain):
    id: UUID
    agency_id: UUID
    address: str
    language: str
    enabled: bool
    created_at: datetime


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    language: Language = "en"
    email: EmailStr | None = Field(default=None, description="default: the token's email")


class PreferenceOut(_FromDomain):
    officer_id: str
    email: str
    enabled: bool
    language: str
