"""Value types shared by events and services: statuses, roles, urgencies, reason codes."""

from __future__ import annotations

from enum import StrEnum

# A referral's short human reference ("BR-7K3F9"): the prefix and 5 characters from an alphabet
# without look-alikes (no 0/O, 1/I/L, U). Not personal data.
REFERENCE_PREFIX = "BR-"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 5
REFERENCE_PATTERN = rf"^{REFERENCE_PREFIX}[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}$"


class ReferralStatus(StrEnum):
    """FHIR R4 Task status codes used for the referral lifecycle."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


FINAL_STATUSES: frozenset[ReferralStatus] = frozenset(
    {
        ReferralStatus.COMPLETED,
        ReferralStatus.REJECTED,
        ReferralStatus.CANCELLED,
        ReferralStatus.FAILED,
    }
)


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    ROUTINE = "routine"


class Role(StrEnum):
    OFFICER = "officer"
    AGENCY_STAFF = "agency_staff"
    ADMIN = "admin"
    OPS = "ops"


class ReasonCode(StrEnum):
    """Why a referral was rejected, failed or cancelled (no free text: free text may hold PII)."""

    NOT_ELIGIBLE = "not-eligible"
    AT_CAPACITY = "at-capacity"
    SERVICE_NOT_OFFERED = "service-not-offered"
    OUT_OF_AREA = "out-of-area"
    DUPLICATE = "duplicate"
    CLIENT_UNREACHABLE = "client-unreachable"
    CLIENT_DECLINED = "client-declined"
    CLIENT_NO_SHOW = "client-no-show"
    NEED_RESOLVED = "need-resolved"
    CONSENT_WITHDRAWN = "consent-withdrawn"
    FILED_IN_ERROR = "filed-in-error"
    OTHER = "other"


class CapacityStatus(StrEnum):
    AVAILABLE = "available"
    LIMITED = "limited"
    WAITLIST = "waitlist"
    FULL = "full"


class DeliveryChannel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class MessageChannel(StrEnum):
    """How a message reaches a family (the family's own follow-up: never an agency's channel)."""

    EMAIL = "email"
    SMS = "sms"


class FamilyAnswer(StrEnum):
    """What a family answers to "did you get help?" (its link, or told to the officer)."""

    GOT_HELP = "got-help"
    NOT_YET = "not-yet"
    COULD_NOT_REACH = "could-not-reach"
    NO_LONGER_NEEDED = "no-longer-needed"
