"""Every event Bridges publishes: data models (facts, past tense, no PII) and their registry.

Compatibility rule: adding an optional field is compatible; anything else needs a new
version (a new EventSpec with version + 1), which `docgen --check` enforces.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from bridges_schema.envelope import CloudEvent, EventSpec
from bridges_schema.subjects import Domain
from bridges_schema.values import (
    REFERENCE_PATTERN,
    CapacityStatus,
    DeliveryChannel,
    FamilyAnswer,
    MessageChannel,
    ReasonCode,
    ReferralStatus,
    Role,
    Urgency,
)

Reference = Annotated[
    str | None,
    Field(
        pattern=REFERENCE_PATTERN,
        description="the referral's short human reference, as staff and officers see it (not "
        "personal data); absent in events from before references existed",
        examples=["BR-7K3F9"],
    ),
]


class EventData(BaseModel):
    """Base of all event payloads: immutable, tolerant of fields added by newer producers."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# -- referral lifecycle -------------------------------------------------------------------


class ReferralRequested(EventData):
    """An officer filed a referral to a program (one per program; an intake may file several)."""

    referral_id: UUID
    reference: Reference = None
    case_id: UUID
    program_id: UUID
    agency_id: UUID
    status: ReferralStatus = ReferralStatus.REQUESTED
    urgency: Urgency
    need_codes: tuple[str, ...] = Field(default=(), max_length=20)
    officer_id: str = Field(min_length=1, max_length=128, description="the officer's token subject")
    version: int = Field(ge=1)
    requested_at: datetime
    respond_by: datetime = Field(description="when the referral becomes overdue if not received")


class ReferralStatusChanged(EventData):
    """A referral moved from one lifecycle status to another."""

    referral_id: UUID
    reference: Reference = None
    case_id: UUID
    program_id: UUID
    agency_id: UUID
    officer_id: str = Field(min_length=1, max_length=128)
    status: ReferralStatus
    previous_status: ReferralStatus
    urgency: Urgency
    reason_code: ReasonCode | None = None
    actor_role: Role
    version: int = Field(ge=1)
    changed_at: datetime


class ReferralOverdue(EventData):
    """A referral was not received within its urgency's response target."""

    referral_id: UUID
    reference: Reference = None
    case_id: UUID
    program_id: UUID
    agency_id: UUID
    officer_id: str = Field(min_length=1, max_length=128)
    status: ReferralStatus
    urgency: Urgency
    respond_by: datetime
    detected_at: datetime


# -- the family's follow-up ----------------------------------------------------------------


class FollowUpDue(EventData):
    """A family's follow-up message ("did you get help?") is due now, by email or text. The
    address and the link never travel on the bus: the notifications service asks the referrals
    service for the message when it sends it."""

    follow_up_id: UUID
    case_id: UUID
    channel: MessageChannel
    due_at: datetime


class FamilyFeedbackReceived(EventData):
    """A family answered "did you get help?", through its link or by telling the officer. The
    answer is a code; a comment, if any, stays in the referrals database."""

    case_id: UUID
    officer_id: str = Field(min_length=1, max_length=128, description="the filing officer")
    answer: FamilyAnswer
    via: Literal["link", "officer"]
    referral_ids: tuple[UUID, ...] = Field(max_length=10, description="the case's referrals")
    open_referral_ids: tuple[UUID, ...] = Field(
        max_length=10, description="those not closed when the family answered"
    )
    open_reference: Reference = Field(
        default=None, description="the short reference of the first of them (its officer's alert)"
    )
    answered_at: datetime


# -- directory -----------------------------------------------------------------------------

CapacityUntil = Annotated[
    date | None,
    Field(description="the day the program expects to take referrals again (its intake reopens)"),
]
CapacityNote = Annotated[
    str | None,
    Field(
        max_length=300,
        description="the agency's words on its intake (not personal data), e.g. why it is full",
    ),
]


class ServiceUpserted(EventData):
    """A program in the directory was created or changed (version increases with each change)."""

    service_id: UUID
    version: int = Field(ge=1)
    organization_id: UUID
    organization_name: str = Field(max_length=300)
    agency_id: UUID | None
    name: str = Field(max_length=300)
    status: str = Field(max_length=32)
    accepting_referrals: bool
    capacity_status: CapacityStatus
    taxonomy_term_codes: tuple[str, ...] = Field(default=(), max_length=50)
    last_verified: date | None = None
    modified_at: datetime
    capacity_until: CapacityUntil = None
    capacity_note: CapacityNote = None


class ServiceDeleted(EventData):
    service_id: UUID
    version: int = Field(ge=1)
    agency_id: UUID | None
    deleted_at: datetime


class ServiceCapacityChanged(EventData):
    service_id: UUID
    version: int = Field(ge=1)
    agency_id: UUID | None
    accepting_referrals: bool
    capacity_status: CapacityStatus
    changed_at: datetime
    capacity_until: CapacityUntil = None
    capacity_note: CapacityNote = None


class ListingReviewRequested(EventData):
    """The directory asks an agency to check its programs' listing ("still correct?"). The
    link that confirms it is signed by the notifications service, which emails it: the event
    carries no credential."""

    review_id: UUID
    agency_id: UUID
    programs: int = Field(ge=0, description="how many programs the agency has in the directory")
    stale_programs: int = Field(
        ge=0, description="of them, how many were not checked within the freshness period"
    )
    oldest_checked: date | None = Field(
        default=None, description="the least recently checked program's date (None: never)"
    )
    requested_at: datetime
    expires_at: datetime = Field(description="the confirmation link works until then, once")


# -- notification delivery -----------------------------------------------------------------


class DeliverySucceeded(EventData):
    delivery_id: UUID
    channel: DeliveryChannel
    agency_id: UUID | None
    endpoint_id: UUID | None
    source_event_id: str = Field(max_length=64)
    source_event_type: str = Field(max_length=120)
    referral_id: UUID | None = None
    attempts: int = Field(ge=1)
    delivered_at: datetime


class DeliveryDeadLettered(EventData):
    delivery_id: UUID
    channel: DeliveryChannel
    agency_id: UUID | None
    endpoint_id: UUID | None
    source_event_id: str = Field(max_length=64)
    source_event_type: str = Field(max_length=120)
    referral_id: UUID | None = None
    attempts: int = Field(ge=1)
    last_error: str = Field(max_length=300)
    dead_lettered_at: datetime


class FamilyMessageDelivered(EventData):
    """A family's follow-up message was handed to its mail server or SMS provider."""

    delivery_id: UUID
    follow_up_id: UUID
    channel: MessageChannel
    attempts: int = Field(ge=1)
    delivered_at: datetime


class FamilyMessageUndeliverable(EventData):
    """A family's follow-up message could not be sent after its last attempt (the reason stays
    with the delivery: it may name the address)."""

    delivery_id: UUID
    follow_up_id: UUID
    channel: MessageChannel
    attempts: int = Field(ge=1)
    dead_lettered_at: datetime


class WebhookTested(EventData):
    """An admin sent a test to an agency's webhook endpoint (to check its URL and its signature
    check): posted to that endpoint only, never published on the bus, about no referral."""

    endpoint_id: UUID
    agency_id: UUID
    requested_at: datetime


# -- registry ------------------------------------------------------------------------------

REFERRAL_REQUESTED = EventSpec(
    Domain.REFERRAL, "requested", 1, ReferralRequested, "An officer filed a referral."
)
_STATUS_SUMMARIES = {
    ReferralStatus.RECEIVED: "The receiving agency opened the referral.",
    ReferralStatus.ACCEPTED: "The agency accepted the referral.",
    ReferralStatus.REJECTED: "The agency declined the referral (reason code given).",
    ReferralStatus.IN_PROGRESS: "The agency is serving the family.",
    ReferralStatus.ON_HOLD: "Work on the referral is paused.",
    ReferralStatus.COMPLETED: "The agency reports the service was delivered.",
    ReferralStatus.CANCELLED: "The officer or an admin cancelled the referral.",
    ReferralStatus.FAILED: "The agency could not serve or reach the family.",
}
_STATUS_EVENTS: dict[ReferralStatus, EventSpec[ReferralStatusChanged]] = {
    status: EventSpec(Domain.REFERRAL, status.value, 1, ReferralStatusChanged, summary)
    for status, summary in _STATUS_SUMMARIES.items()
}
REFERRAL_OVERDUE = EventSpec(
    Domain.REFERRAL,
    "overdue",
    1,
    ReferralOverdue,
    "A referral was not received within its response target.",
)
FOLLOW_UP_DUE = EventSpec(
    Domain.REFERRAL,
    "follow_up_due",
    1,
    FollowUpDue,
    "A family's follow-up message is due (sent by the notifications service).",
)
FAMILY_FEEDBACK_RECEIVED = EventSpec(
    Domain.REFERRAL,
    "family_feedback_received",
    1,
    FamilyFeedbackReceived,
    "A family answered whether it got help.",
)
SERVICE_UPSERTED = EventSpec(
    Domain.DIRECTORY, "service.upserted", 1, ServiceUpserted, "A program was created or changed."
)
SERVICE_DELETED = EventSpec(
    Domain.DIRECTORY, "service.deleted", 1, ServiceDeleted, "A program was removed."
)
SERVICE_CAPACITY_CHANGED = EventSpec(
    Domain.DIRECTORY,
    "service.capacity_changed",
    1,
    ServiceCapacityChanged,
    "A program's capacity or referral intake changed.",
)
LISTING_REVIEW_REQUESTED = EventSpec(
    Domain.DIRECTORY,
    "listing.review_requested",
    1,
    ListingReviewRequested,
    "The directory asks an agency to confirm its listing is still correct.",
)
DELIVERY_SUCCEEDED = EventSpec(
    Domain.DELIVERY, "succeeded", 1, DeliverySucceeded, "A notification reached its receiver."
)
DELIVERY_DEAD_LETTERED = EventSpec(
    Domain.DELIVERY,
    "dead_lettered",
    1,
    DeliveryDeadLettered,
    "A notification could not be delivered after its last attempt.",
)
FAMILY_MESSAGE_DELIVERED = EventSpec(
    Domain.DELIVERY,
    "family_message_delivered",
    1,
    FamilyMessageDelivered,
    "A family's follow-up message was sent.",
)
FAMILY_MESSAGE_UNDELIVERABLE = EventSpec(
    Domain.DELIVERY,
    "family_message_undeliverable",
    1,
    FamilyMessageUndeliverable,
    "A family's follow-up message could not be sent after its last attempt.",
)
WEBHOOK_TESTED = EventSpec(
    Domain.DELIVERY,
    "webhook_tested",
    1,
    WebhookTested,
    "A test an admin sent to one agency's endpoint (webhook only, never on the bus).",
)

# Agency webhooks may ask for any of these (the family's follow-up is not the agency's).
REFERRAL_EVENTS: tuple[EventSpec[Any], ...] = (
    REFERRAL_REQUESTED,
    *_STATUS_EVENTS.values(),
    REFERRAL_OVERDUE,
)
DIRECTORY_EVENTS: tuple[EventSpec[Any], ...] = (
    SERVICE_UPSERTED,
    SERVICE_DELETED,
    SERVICE_CAPACITY_CHANGED,
    LISTING_REVIEW_REQUESTED,
)
DELIVERY_EVENTS: tuple[EventSpec[Any], ...] = (DELIVERY_SUCCEEDED, DELIVERY_DEAD_LETTERED)
FAMILY_EVENTS: tuple[EventSpec[Any], ...] = (
    FOLLOW_UP_DUE,
    FAMILY_FEEDBACK_RECEIVED,
    FAMILY_MESSAGE_DELIVERED,
    FAMILY_MESSAGE_UNDELIVERABLE,
)
ALL_EVENTS: tuple[EventSpec[Any], ...] = (
    REFERRAL_EVENTS + DIRECTORY_EVENTS + DELIVERY_EVENTS + FAMILY_EVENTS
)
# Posted to receivers, never published: a schema for receivers, no channel on the bus.
WEBHOOK_ONLY_EVENTS: tuple[EventSpec[Any], ...] = (WEBHOOK_TESTED,)
_BY_TYPE: dict[str, EventSpec[Any]] = {spec.type: spec for spec in ALL_EVENTS}


class UnknownEventType(ValueError):
    """The event's `type` is not one this version of the schema package knows."""


def referral_status_event(status: ReferralStatus) -> EventSpec[ReferralStatusChanged]:
    """The event emitted when a referral enters `status` (not for `requested`)."""
    return _STATUS_EVENTS[status]


def spec_for_type(event_type: str) -> EventSpec[Any]:
    try:
        return _BY_TYPE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def event_spec(event: CloudEvent[Any]) -> EventSpec[Any]:
    return spec_for_type(event.type)


def parse_event(raw: bytes | str) -> CloudEvent[Any]:
    """Parse a structured-mode CloudEvent and validate its data against the model of its type.

    Raises pydantic.ValidationError for a malformed event and UnknownEventType for a type
    this package does not know.
    """
    header = CloudEvent[dict[str, Any]].model_validate_json(raw)
    spec = spec_for_type(header.type)
    return spec.envelope_model().model_validate_json(raw)
