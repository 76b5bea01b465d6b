"""The CloudEvents 1.0 structured-mode envelope and the description of one event type."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bridges_schema.subjects import DEFAULT_NAMESPACE, Domain, Streams

DataT = TypeVar("DataT")
ModelT = TypeVar("ModelT", bound=BaseModel)

SCHEMA_BASE_URI = "https://bridges.example.org/schemas/events/"


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event in structured JSON mode, with the Bridges extensions."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=200, examples=["/bridges/referrals"])
    type: str = Field(min_length=1, max_length=120, examples=["org.bridges.referral.accepted.v1"])
    subject: str | None = Field(default=None, max_length=200)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = Field(default=None, max_length=300)
    traceparent: str | None = Field(default=None, max_length=55)
    correlationid: str | None = Field(default=None, max_length=128)
    data: DataT


@dataclass(frozen=True)
class EventSpec(Generic[ModelT]):
    """One event type: its name, version, data model and where it travels."""

    domain: Domain
    name: str
    version: int
    data_model: builtins.type[ModelT]
    summary: str

    @property
    def type(self) -> str:
        return f"org.bridges.{self.domain.value}.{self.name}.v{self.version}"

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_BASE_URI}{self.type}.json"

    def subject(self, namespace: str = DEFAULT_NAMESPACE) -> str:
        return Streams(namespace).subject(self.domain, self.version, self.name)

    def envelope_model(self) -> builtins.type[CloudEvent[ModelT]]:
        model: builtins.type[CloudEvent[ModelT]] = CloudEvent[self.data_model]  # type: ignore[name-defined]
        return model


def new_event(
    spec: EventSpec[ModelT],
    data: ModelT,
    *,
    source: str,
    subject: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent[ModelT]:
    """Build an event of type `spec` around `data` (a fresh UUIDv4 id unless one is given)."""
    if not isinstance(data, spec.data_model):
        raise TypeError(
            f"{spec.type} carries {spec.data_model.__name__}, not {type(data).__name__}"
        )
    return CloudEvent[Any](
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=spec.type,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=spec.dataschema,
        correlationid=correlation_id,
        traceparent=traceparent,
        data=data,
    )
