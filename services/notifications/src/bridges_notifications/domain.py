"""The notifications domain: endpoints, recipients, deliveries, and the rules over them — who is
told about which referral event, and when a failing endpoint rests (pure: no I/O)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from bridges_kit.backoff import Backoff
from bridges_kit.principal import Principal
from bridges_schema import (
    CloudEvent,
    FamilyAnswer,
    FamilyFeedbackReceived,
    FollowUpDue,
    MessageChannel,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
)


class Channel(StrEnum):
    """How a delivery goes out: the channels of the delivery events (`DeliveryChannel`), and
    text messages, which only families get (their outcomes are the family message events)."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"


class AudienceKind(StrEnum):
    AGENCY = "agency"
    OFFICER = "officer"
    FAMILY = "family"  # the target is the follow-up's id: the address is fetched when sending


ReferralEvent = ReferralRequested | ReferralStatusChanged | ReferralOverdue

# A family's answers its officer hears about at once (if they asked for notices), while a
# referral of the case is still open.
ALERTING_ANSWERS = frozenset({FamilyAnswer.NOT_YET, FamilyAnswer.COULD_NOT_REACH})

# Statuses an officer hears about by email (if they asked): the agency's answers and outcomes.
OFFICER_NOTICE_STATUSES = frozenset(
    {
        ReferralStatus.ACCEPTED,
        ReferralStatus.REJECTED,
        ReferralStatus.COMPLETED,
        ReferralStatus.FAILED,
        ReferralStatus.CANCELLED,
        ReferralStatus.ON_HOLD,
    }
)


class EndpointNotFound(LookupError):
    """No such endpoint for this agency."""


class AgencyNotFound(LookupError):
    """The caller may not read this agency's settings (answered as if it had none)."""


def may_read_agency(reader: Principal, agency_id: UUID) -> bool:
    """Agency staff read their own agency's endpoints and recipients; admins and ops any."""
    if reader.role is Role.AGENCY_STAFF:
        return reader.agency_id == agency_id
    return reader.role in (Role.ADMIN, Role.OPS)


def check_may_read_agency(reader: Principal | None, agency_id: UUID) -> None:
    """`reader` None is the operator's console (`python -m bridges_notifications`)."""
    if reader is not None and not may_read_agency(reader, agency_id):
        raise AgencyNotFound(f"no agency {agency_id} among those you may see")


class UnknownEventType(ValueError):
    """An event-type filter names a type Bridges does not publish."""


class NoEmail(ValueError):
    """Neither the request nor the caller's token gives an email address."""


class DeliveryNotFound(LookupError):
    """No such delivery."""


class RecipientNotFound(LookupError):
    """No such email recipient for this agency."""


class EndpointNotDelivering(ValueError):
    """The endpoint is disabled or paused: a test sent now would only wait."""


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    agency_id: UUID
    url: str
    secret: str | None  # stored only sealed: known here only as it is made (shown once)
    enabled: bool
    event_types: tuple[str, ...]
    description: str | None
    created_at: datetime
    updated_at: datetime
    paused: bool = False
    previous_secret_until: datetime | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


@dataclass(frozen=True)
class Recipient:
    id: UUID
    agency_id: UUID
    address: str
    language: str
    enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class OfficerPreference:
    officer_id: str
    email: str
    enabled: bool
    language: str


@dataclass(frozen=True)
class Audience:
    """Who may hear about an agency's referral event: its endpoints and email recipients."""

    endpoints: list[Endpoint]
    recipients: list[Recipient]


@dataclass(frozen=True)
class NewDelivery:
    """One message to send: an event to one endpoint or email address, or a family's
    follow-up message."""

    id: UUID
    event_id: str
    event_type: str
    referral_id: UUID | None  # None: about no referral (a follow-up, an admin's test)
    agency_id: UUID | None  # the agency's deliveries only
    channel: Channel
    target: str  # the endpoint's id, the email address, or (family) the follow-up's id
    audience: AudienceKind
    payload: bytes  # the CloudEvent as sent (no personal data)
    endpoint_id: UUID | None = None
    language: str | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased for one attempt, with what its transport needs."""

    id: UUID
    event_id: str
    event_type: str
    referral_id: UUID | None
    agency_id: UUID | None
    endpoint_id: UUID | None
    channel: Channel
    target: str
    language: str | None
    audience: AudienceKind
    payload: bytes
    attempts: int  # including this one
    url: str | None = None  # webhooks: the endpoint's URL
    secrets: tuple[str, ...] = ()  # webhooks: the secrets that sign now (two while rotating)
    probe: bool = False  # the one attempt that probes a receiver whose circuit rested


@dataclass(frozen=True)
class Lease:
    """A worker's hold on the deliveries it claimed: `seconds` at a time, renewed while they
    run; a worker that dies stops renewing, and its deliveries are free again soon."""

    owner: UUID
    seconds: float


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None = None
    receivers_fault: bool = True  # a failure counts toward the receiver's circuit breaker

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Attempted:
    """A delivery attempt that has ended, waiting to be recorded."""

    delivery: ClaimedDelivery
    result: AttemptResult


@dataclass(frozen=True)
class RetryLater:
    delivery_id: UUID
    error: str | None
    seconds: float


@dataclass(frozen=True)
class Finished:
    delivery_id: UUID
    succeeded: bool
    error: str | None


def plan_deliveries(
    event: CloudEvent[Any],
    endpoints: Iterable[Endpoint],
    recipients: Iterable[Recipient],
    officer: OfficerPreference | None,
) -> list[NewDelivery]:
    """Who hears about a referral event: the agency's endpoints that want it; its email
    recipients for new and overdue referrals; the filing officer, if they asked, when the
    agency answers or the referral ends."""
    data: ReferralEvent = event.data
    payload = event.model_dump_json().encode()

    def delivery(channel: Channel, target: str, audience: AudienceKind, **more: Any) -> NewDelivery:
        return NewDelivery(
            id=uuid.uuid4(),
            event_id=event.id,
            event_type=event.type,
            referral_id=data.referral_id,
            agency_id=data.agency_id,
            channel=channel,
            target=target,
            audience=audience,
            payload=payload,
            **more,
        )

    planned = [
        delivery(Channel.WEBHOOK, str(e.id), AudienceKind.AGENCY, endpoint_id=e.id)
        for e in endpoints
        if e.agency_id == data.agency_id and e.wants(event.type)
    ]
    if isinstance(data, ReferralRequested | ReferralOverdue):
        planned += [
            delivery(Channel.EMAIL, r.address, AudienceKind.AGENCY, language=r.language)
            for r in recipients
            if r.agency_id == data.agency_id and r.enabled
        ]
    if (
        isinstance(data, ReferralStatusChanged)
        and data.status in OFFICER_NOTICE_STATUSES
        and officer is not None
        and officer.enabled
        and officer.officer_id == data.officer_id
    ):
        planned.append(
            delivery(Channel.EMAIL, officer.email, AudienceKind.OFFICER, language=officer.language)
        )
    return planned


def plan_family_message(event: CloudEvent[FollowUpDue]) -> NewDelivery:
    """A family's follow-up message: by email or text, to the follow-up (its address and words
    are fetched from the referrals service when it is sent, never kept here)."""
    data = event.data
    return NewDelivery(
        id=uuid.uuid4(),
        event_id=event.id,
        event_type=event.type,
        referral_id=None,
        agency_id=None,
        channel=Channel.SMS if data.channel is MessageChannel.SMS else Channel.EMAIL,
        target=str(data.follow_up_id),
        audience=AudienceKind.FAMILY,
        payload=event.model_dump_json().encode(),
    )


def plan_officer_alert(
    event: CloudEvent[FamilyFeedbackReceived], officer: OfficerPreference | None
) -> NewDelivery | None:
    """The filing officer, if they asked for notices, hears at once of a family that has not
    got help yet or could not reach the program while a referral of its case is open."""
    data = event.data
    if (
        data.answer not in ALERTING_ANSWERS
        or not data.open_referral_ids
        or officer is None
        or not officer.enabled
        or officer.officer_id != data.officer_id
    ):
        return None
    return NewDelivery(
        id=uuid.uuid4(),
        event_id=event.id,
        event_type=event.type,
        referral_id=data.open_referral_ids[0],
        agency_id=None,
        channel=Channel.EMAIL,
        target=officer.email,
        audience=AudienceKind.OFFICER,
        payload=event.model_dump_json().encode(),
        language=officer.language,
    )


@dataclass(frozen=True)
class BreakerPolicy:
    """After `failures` failures in a row an endpoint rests; one delivery (across replicas) then
    probes it. The rest starts short and doubles with each failed probe, up to `longest_rest_s`,
    so a receiver that comes back is found soon and one that stays down is not hammered.
    Attempts that were under way when the circuit opened fail without lengthening the rest."""

    failures: int = 5
    first_rest_s: float = 5.0
    longest_rest_s: float = 60.0

    def rest_after(self, counted: BreakerCount, *, probe: bool) -> timedelta | None:
        """How long the receiver rests from now after this failure (None: no new rest)."""
        rests = Backoff(first_s=self.first_rest_s, cap_s=self.longest_rest_s)
        if probe:  # the n-th failed probe: the (n+1)-th rest
            return timedelta(seconds=rests.delay(counted.failed_probes + 1))
        if not counted.resting and counted.failures >= self.failures:
            return timedelta(seconds=rests.delay(1))
        return None


@dataclass(frozen=True)
class BreakerCount:
    """A receiver's breaker once a failure is counted: failures in a row, probes failed since
    its circuit opened, and whether it was resting (or being probed) already."""

    failures: int
    failed_probes: int = 0
    resting: bool = False
