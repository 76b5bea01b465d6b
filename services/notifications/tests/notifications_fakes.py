"""An in-memory notifications unit of work, for unit tests of fan-out, attempts and endpoints."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from bridges_kit.fakes import InMemoryUnitOfWork
from bridges_kit.operator_actions import OperatorAction
from bridges_notifications.domain import (
    Attempted,
    AttemptResult,
    Audience,
    AudienceKind,
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
from bridges_notifications.uow import NotificationsUnitOfWork


class FakeEndpoints:
    def __init__(self) -> None:
        self.rows: dict[UUID, Endpoint] = {}
        self.failed_probes: dict[UUID, int] = {}

    async def add(self, endpoint: Endpoint) -> Endpoint:
        self.rows[endpoint.id] = endpoint
        return endpoint

    async def change(
        self,
        agency_id: UUID,
        endpoint_id: UUID,
        *,
        url: str,
        enabled: bool,
        event_types: Sequence[str],
        description: str | None,
    ) -> Endpoint | None:
        known = self.rows.get(endpoint_id)
        if known is None or known.agency_id != agency_id:
            return None
        self.rows[endpoint_id] = replace(
            known, url=url, enabled=enabled, event_types=tuple(event_types), description=description
        )
        return self.rows[endpoint_id]

    async def of_agency(self, agency_id: UUID) -> list[Endpoint]:
        return [e for e in self.rows.values() if e.agency_id == agency_id]

    async def rotate_secret(
        self, agency_id: UUID, endpoint_id: UUID, secret: str, overlap: timedelta
    ) -> Endpoint | None:
        known = self.rows.get(endpoint_id)
        if known is None or known.agency_id != agency_id:
            return None
        self.rows[endpoint_id] = replace(
            known,
            secret=secret,
            previous_secret_until=datetime.now(UTC) + overlap,
        )
        return self.rows[endpoint_id]

    async def set_paused(self, endpoint_id: UUID, paused: bool) -> Endpoint | None:
        known = self.rows.get(endpoint_id)
        if known is None:
            return None
        reset = {} if paused else {"consecutive_failures": 0, "circuit_open_until": None}
        self.rows[endpoint_id] = replace(known, paused=paused, **reset)  # type: ignore[arg-type]
        return self.rows[endpoint_id]

    async def count_failure(self, endpoint_id: UUID, *, probe: bool) -> BreakerCount:
        known = self.rows[endpoint_id]
        self.rows[endpoint_id] = replace(known, consecutive_failures=known.consecutive_failures + 1)
        self.failed_probes[endpoint_id] = self.failed_probes.get(endpoint_id, 0) + probe
        return BreakerCount(
            known.consecutive_failures + 1,
            self.failed_probes[endpoint_id],
            known.circuit_open_until is not None,
        )

    async def rest_until(self, endpoint_id: UUID, until: datetime) -> None:
        self.rows[endpoint_id] = replace(self.rows[endpoint_id], circuit_open_until=until)

    async def count_success(self, endpoint_id: UUID) -> None:
        self.rows[endpoint_id] = replace(
            self.rows[endpoint_id], consecutive_failures=0, circuit_open_until=None
        )
        self.failed_probes.pop(endpoint_id, None)

    async def soonest_rest_end(self) -> datetime | None:
        resting = [e.circuit_open_until for e in self.rows.values() if e.circuit_open_until]
        return min(resting, default=None)


class FakeChannels:
    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.resting_until: dict[str, datetime] = {}

    async def count_failure(self, channel: Any, *, probe: bool) -> BreakerCount:
        resting = str(channel) in self.resting_until
        self.failures[str(channel)] = self.failures.get(str(channel), 0) + 1
        return BreakerCount(self.failures[str(channel)], int(probe), resting)

    async def rest_until(self, channel: Any, until: datetime) -> None:
        self.resting_until[str(channel)] = until

    async def count_success(self, channel: Any) -> None:
        self.failures.pop(str(channel), None)
        self.resting_until.pop(str(channel), None)


class FakeRecipients:
    def __init__(self) -> None:
        self.rows: dict[tuple[UUID, str], Recipient] = {}

    async def put(self, recipient: Recipient) -> Recipient:
        known = self.rows.get((recipient.agency_id, recipient.address))
        stored = (
            recipient
            if known is None
            else replace(known, language=recipient.language, enabled=recipient.enabled)
        )
        self.rows[(recipient.agency_id, recipient.address)] = stored
        return stored

    async def of_agency(self, agency_id: UUID) -> list[Recipient]:
        return sorted(
            (r for r in self.rows.values() if r.agency_id == agency_id), key=lambda r: r.address
        )

    async def remove(self, agency_id: UUID, recipient_id: UUID) -> bool:
        key = next(
            (k for k, r in self.rows.items() if (r.agency_id, r.id) == (agency_id, recipient_id)),
            None,
        )
        return key is not None and self.rows.pop(key) is not None


class FakeAudiences:
    def __init__(self, endpoints: FakeEndpoints, recipients: FakeRecipients) -> None:
        self._endpoints = endpoints
        self._recipients = recipients

    async def of_agency(self, agency_id: UUID, *, recipients: bool) -> Audience:
        return Audience(
            await self._endpoints.of_agency(agency_id),
            await self._recipients.of_agency(agency_id) if recipients else [],
        )


class FakePreferences:
    def __init__(self) -> None:
        self.rows: dict[str, OfficerPreference] = {}

    async def put(self, preference: OfficerPreference) -> OfficerPreference:
        self.rows[preference.officer_id] = preference
        return preference

    async def of_officer(self, officer_id: str) -> OfficerPreference | None:
        return self.rows.get(officer_id)


@dataclass
class StoredDelivery:
    planned: NewDelivery
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    retry_in_s: float | None = None


class FakeDeliveries:
    def __init__(self) -> None:
        self.rows: dict[UUID, StoredDelivery] = {}
        self.attempt_log: list[tuple[UUID, AttemptResult]] = []
        self.wakes = 0

    async def add(self, deliveries: Sequence[NewDelivery]) -> None:
        keys = {
            (d.planned.event_id, d.planned.channel, d.planned.target) for d in self.rows.values()
        }
        for d in deliveries:
            if (d.event_id, d.channel, d.target) not in keys:
                self.rows[d.id] = StoredDelivery(d)
        self.wakes += 1

    async def claim(
        self,
        limit: int,
        lease: Lease,
        in_flight: Mapping[UUID, int],
        per_endpoint: int,
        held: Collection[UUID] = (),
    ) -> list[ClaimedDelivery]:
        raise NotImplementedError("claiming is SQL: see the integration tests")

    async def renew(self, lease: Lease, delivery_ids: Sequence[UUID]) -> None:
        raise NotImplementedError("leases are SQL: see the integration tests")

    async def add_attempts(self, attempted: Sequence[Attempted]) -> None:
        self.attempt_log += [(a.delivery.id, a.result) for a in attempted]

    async def retry_later(self, retries: Sequence[RetryLater]) -> None:
        for r in retries:
            stored = self.rows[r.delivery_id]
            stored.last_error, stored.retry_in_s = r.error, r.seconds

    async def finish(self, finished: Sequence[Finished]) -> dict[UUID, datetime]:
        for f in finished:
            stored = self.rows[f.delivery_id]
            stored.status = "succeeded" if f.succeeded else "dead"
            stored.last_error = f.error
        return {f.delivery_id: datetime.now(UTC) for f in finished}

    async def replay(
        self,
        delivery_id: UUID | None = None,
        endpoint_id: UUID | None = None,
        *,
        every_dead: bool = False,
    ) -> int:
        replayed = [
            d
            for d in self.rows.values()
            if d.planned.id == delivery_id
            or (
                endpoint_id is not None
                and d.planned.endpoint_id == endpoint_id
                and d.status == "dead"
            )
            or (every_dead and d.status == "dead")
        ]
        for d in replayed:
            d.status, d.attempts = "pending", 0
        await self.wake()
        return len(replayed)

    async def wake(self) -> None:
        self.wakes += 1


class FakeOperatorActions:
    def __init__(self) -> None:
        self.recorded: list[OperatorAction] = []

    async def record(self, action: OperatorAction) -> None:
        self.recorded.append(action)


class FakeUnitOfWork(InMemoryUnitOfWork, NotificationsUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.actions = FakeOperatorActions()
        self.endpoints = FakeEndpoints()
        self.channels = FakeChannels()
        self.recipients = FakeRecipients()
        self.audiences = FakeAudiences(self.endpoints, self.recipients)
        self.preferences = FakePreferences()
        self.deliveries = FakeDeliveries()

    def repositories(self) -> Iterable[object]:
        return (
            self.actions,
            self.endpoints,
            self.channels,
            self.recipients,
            self.preferences,
            self.deliveries,
        )


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def webhook_endpoint(agency: UUID, **fields: Any) -> Endpoint:
    return Endpoint(
        id=uuid4(),
        agency_id=agency,
        url="https://hooks.example.org/bridges",
        secret="whsec_" + "A" * 32,
        enabled=fields.pop("enabled", True),
        event_types=fields.pop("event_types", ()),
        description=None,
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


def claimed(planned: NewDelivery, attempts_so_far: int) -> ClaimedDelivery:
    """`planned` as the worker leases it for its `attempts_so_far`-th attempt."""
    return ClaimedDelivery(
        id=planned.id,
        event_id=planned.event_id,
        event_type=planned.event_type,
        referral_id=planned.referral_id,
        agency_id=planned.agency_id,
        endpoint_id=planned.endpoint_id,
        channel=planned.channel,
        target=planned.target,
        language=planned.language,
        audience=planned.audience,
        payload=planned.payload,
        attempts=attempts_so_far,
    )


def webhook_delivery(url: str) -> ClaimedDelivery:
    """A webhook to `url` as the worker leases it (for a transport on its own)."""
    return ClaimedDelivery(
        id=uuid4(),
        event_id=str(uuid4()),
        event_type="org.bridges.referral.requested.v1",
        referral_id=uuid4(),
        agency_id=uuid4(),
        endpoint_id=uuid4(),
        channel=Channel.WEBHOOK,
        target="t",
        language=None,
        audience=AudienceKind.AGENCY,
        payload=b'{"hello": "receiver"}',
        attempts=1,
        url=url,
        secrets=("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",),
    )
