"""The notifications unit of work: the repositories its use cases and event handlers work
through (protocols), the PostgreSQL ones bound to one transaction, and in unit tests a fake."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from bridges_kit.operator_actions import OperatorAction
from bridges_kit.uow import UnitOfWork
from bridges_notifications.domain import (
    Attempted,
    Audience,
    BreakerCount,
    Channel,
    ClaimedDelivery,
    Endpoint,
    Finished,
    Lease,
    NewDelivery,
    OfficerPreference,
    Recipient,
    RetryLater,
)


class Endpoints(Protocol):
    async def add(self, endpoint: Endpoint) -> Endpoint: ...

    async def change(
        self,
        agency_id: UUID,
        endpoint_id: UUID,
        *,
        url: str,
        enabled: bool,
        event_types: Sequence[str],
        description: str | None,
    ) -> Endpoint | None: ...

    async def of_agency(self, agency_id: UUID) -> list[Endpoint]: ...

    async def rotate_secret(
        self, agency_id: UUID, endpoint_id: UUID, secret: str, overlap: timedelta
    ) -> Endpoint | None: ...

    async def set_paused(self, endpoint_id: UUID, paused: bool) -> Endpoint | None: ...

    async def count_failure(self, endpoint_id: UUID, *, probe: bool) -> BreakerCount:
        """One more failure in a row (a failed probe also ends the probing)."""
        ...

    async def rest_until(self, endpoint_id: UUID, until: datetime) -> None: ...

    async def count_success(self, endpoint_id: UUID) -> None:
        """The circuit closes: failures, failed probes and the rest forgotten."""
        ...

    async def soonest_rest_end(self) -> datetime | None:
        """When the first receiver still resting may be probed (endpoints and channels)."""
        ...


class ChannelCircuits(Protocol):
    """The circuit breaker of a channel with one receiver (the SMS provider), as endpoints have."""

    async def count_failure(self, channel: Channel, *, probe: bool) -> BreakerCount: ...

    async def rest_until(self, channel: Channel, until: datetime) -> None: ...

    async def count_success(self, channel: Channel) -> None: ...


class Audiences(Protocol):
    async def of_agency(self, agency_id: UUID, *, recipients: bool) -> Audience:
        """The agency's endpoints and, if `recipients`, its email recipients (one read)."""
        ...


class Recipients(Protocol):
    async def put(self, recipient: Recipient) -> Recipient: ...

    async def of_agency(self, agency_id: UUID) -> list[Recipient]: ...

    async def remove(self, agency_id: UUID, recipient_id: UUID) -> bool: ...


class Preferences(Protocol):
    async def put(self, preference: OfficerPreference) -> OfficerPreference: ...

    async def of_officer(self, officer_id: str) -> OfficerPreference | None: ...


class Deliveries(Protocol):
    async def add(self, deliveries: Sequence[NewDelivery]) -> None: ...

    async def claim(
        self,
        limit: int,
        lease: Lease,
        in_flight: Mapping[UUID | Channel, int],
        per_endpoint: int,
        held: Collection[UUID] = (),
    ) -> list[ClaimedDelivery]:
        """Lease due deliveries to `lease.owner`, none of those it still `held`; `in_flight`
        counts those sending per endpoint (by id). A receiver whose rest is over gets one probe,
        across replicas."""
        ...

    async def renew(self, lease: Lease, delivery_ids: Sequence[UUID]) -> None:
        """Extend the leases `lease.owner` still holds on these deliveries (a heartbeat)."""
        ...

    async def add_attempts(self, attempted: Sequence[Attempted]) -> None: ...

    async def retry_later(self, retries: Sequence[RetryLater]) -> None: ...

    async def finish(self, finished: Sequence[Finished]) -> dict[UUID, datetime]:
        """End these deliveries; returns when each ended."""
        ...

    async def replay(
        self,
        delivery_id: UUID | None = None,
        endpoint_id: UUID | None = None,
        *,
        every_dead: bool = False,
    ) -> int:
        """Queue again, now: one delivery (whatever its state), an endpoint's dead ones, or
        `every_dead` one; returns how many."""
        ...

    async def wake(self) -> None: ...


class OperatorActions(Protocol):
    async def record(self, action: OperatorAction) -> None:
        """What an operator or admin did, recorded with the change it made."""
        ...


class NotificationsUnitOfWork(UnitOfWork):
    actions: OperatorActions
    endpoints: Endpoints
    channels: ChannelCircuits
    recipients: Recipients
    audiences: Audiences
    preferences: Preferences
    deliveries: Deliveries
