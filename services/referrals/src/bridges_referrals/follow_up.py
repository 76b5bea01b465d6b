"""The family's follow-up, "did you get help?" (pure): which channel a family is asked by, when,
what safety asks of it, and what its answer is.

    filed ──► scheduled ──(due, in the family's safe hours)──► sent ──► delivered ──► answered
      │           │  (officer channel: the officer's list says "ask the family")  │
      │           │                                          undeliverable ──► (the officer asks)
      └─► off     └──► cancelled (consent withdrawn; the referrals all cancelled)

A channel is the family's choice. Left out, it follows the contact: the family's own channel
(email; a text to its phone) when a message may be left there, through the officer when none
may, and none at all when the family is reached only through the officer or in person, or when
the referral is *sensitive to contact*: safety concerns marked by the officer, or a
family-violence need. Such a referral may still be followed up by email or text if the family
asks for it, but only to the channel and within the hours it named, re-confirmed with the
family (`reconfirmed`): else the intake is refused, naming what is missing. A contact that says
no message may be left is treated the same way.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from bridges_schema import FamilyAnswer, MessageChannel

FAMILY_VIOLENCE = "family-violence"
LANGUAGES = ("en", "es")  # the languages the app's catalogue has the family's words in
TOKEN_BYTES = 18  # 144 random bits, 24 characters in a link


class FollowUpChannel(StrEnum):
    EMAIL = "email"
    TEXT = "text"
    OFFICER = "officer"  # the officer asks the family (their list says so when it is due)
    NONE = "none"  # "don't reach out"


MESSAGE_CHANNELS = {
    FollowUpChannel.EMAIL: MessageChannel.EMAIL,
    FollowUpChannel.TEXT: MessageChannel.SMS,
}


class FollowUpStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"  # the message is on its way (its link works from now)
    DELIVERED = "delivered"  # handed to the mail server or SMS provider
    UNDELIVERABLE = "undeliverable"  # it could not be: the officer asks instead
    ANSWERED = "answered"
    CANCELLED = "cancelled"
    OFF = "off"  # channel none: nothing is ever sent


SENT_STATUSES = frozenset(
    {FollowUpStatus.SENT, FollowUpStatus.DELIVERED, FollowUpStatus.UNDELIVERABLE}
)


class AnswerChannel(StrEnum):
    LINK = "link"
    OFFICER = "officer"


# -- errors --------------------------------------------------------------------------------


class FollowUpUnreachable(ValueError):
    """The chosen follow-up channel needs a contact detail the family did not give."""


class FollowUpNotReconfirmed(ValueError):
    """A referral sensitive to contact may be followed up by a message only to the channel and
    hours the family named, re-confirmed with it."""


class FeedbackAlreadyGiven(Exception):
    """The family's answer is already recorded (an answer is given once)."""


class FeedbackNotAccepted(Exception):
    """Nothing more is recorded about a family that withdrew its consent."""


class FollowUpLinkNotValid(LookupError):
    """No follow-up answers to this link: mistyped, expired, cancelled or erased."""


class FollowUpGone(LookupError):
    """The follow-up's message is no longer to be sent (cancelled, answered, erased)."""


class NotInSafeHours(Exception):
    """The family's safe hours are not now: the message waits until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"outside the family's safe hours: not before {until.isoformat()}")
        self.until = until


# -- what is kept --------------------------------------------------------------------------


@dataclass(frozen=True)
class SafeHours:
    """A daily window in the family's time zone: [start, end), wrapping midnight when end is
    earlier than start; start == end means any time of day."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    @classmethod
    def parse(cls, text: str) -> SafeHours:
        """ "09:00-19:00" (as settings write it)."""
        start, _, end = text.partition("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def next_safe_moment(earliest: datetime, hours: SafeHours, zone: ZoneInfo) -> datetime:
    """The first moment at or after `earliest` within `hours` in `zone` (in UTC)."""
    local = earliest.astimezone(zone)
    if hours.contains(local.time().replace(tzinfo=None)):
        return earliest.astimezone(UTC)
    day = local.date()
    for _ in range(3):  # today's start, or tomorrow's (a DST gap may skip one)
        start = datetime.combine(day, hours.start, tzinfo=zone)
        if start > local:
            return start.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("a daily window always opens within two days")


@dataclass(frozen=True)
class SafeWindow:
    """When a message is safe for the family: hours of the day in its time zone. Personal
    (when a family is alone at home may be what keeps it safe): kept sealed."""

    hours: SafeHours
    time_zone: str

    def next_moment(self, earliest: datetime) -> datetime:
        return next_safe_moment(earliest, self.hours, ZoneInfo(self.time_zone))

    def as_json(self) -> dict[str, str]:
        return {"hours": str(self.hours), "time_zone": self.time_zone}

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> SafeWindow:
        return cls(SafeHours.parse(value["hours"]), value["time_zone"])


@dataclass(frozen=True)
class FollowUp:
    """How and when a family is asked whether it got help (one per case)."""

    id: UUID
    case_id: UUID
    channel: FollowUpChannel
    status: FollowUpStatus
    due_at: datetime | None  # None: never (channel none)
    reconfirmed: bool = False
    chosen: bool = False  # the family chose the channel (else it is the default)
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    window: SafeWindow | None = None  # None when not opened, or erased

    @property
    def message_channel(self) -> MessageChannel | None:
        return MESSAGE_CHANNELS.get(self.channel)

    def officer_asks(self, now: datetime) -> bool:
        """The officer's list says "ask the family: did you get help?"."""
        if self.status is FollowUpStatus.UNDELIVERABLE:
            return True
        return (
            self.channel is FollowUpChannel.OFFICER
            and self.status is FollowUpStatus.SCHEDULED
            and self.due_at is not None
            and self.due_at <= now
        )

    def link_works(self, now: datetime) -> bool:
        """Sent and not expired (a message reported undeliverable may still have arrived: its
        link works, and sending it again after a fix sends the same link)."""
        return (
            self.status in SENT_STATUSES and self.expires_at is not None and now < self.expires_at
        )


@dataclass(frozen=True)
class FamilyFeedback:
    """The family's answer, recorded once: by its link, or told to the officer."""

    case_id: UUID
    answer: FamilyAnswer
    at: datetime
    via: AnswerChannel
    recorded_by: str | None = None  # the officer, when told to them
    comment: str | None = None  # the family's own words: sealed, erased with its data


# -- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpPolicy:
    """The deployment's settings: how long after filing, the safe hours and time zone used when
    the family named none, and how long a link works."""

    delay: timedelta = timedelta(days=7)
    delay_by_need: Mapping[str, timedelta] = field(default_factory=dict)
    hours: SafeHours = field(default_factory=lambda: SafeHours(time(9), time(19)))
    time_zone: str = "UTC"
    link_lifetime: timedelta = timedelta(days=30)

    def delay_for(self, need_codes: Iterable[str]) -> timedelta:
        """The longest of the needs' delays (so the slowest help has had its time): a need's
        own override, else its category's ("food" for "food.pantry"), else the default."""
        return max((self._delay_of(code) for code in need_codes), default=self.delay)

    def _delay_of(self, code: str) -> timedelta:
        parts = code.split(".")
        for n in range(len(parts), 0, -1):
            override = self.delay_by_need.get(".".join(parts[:n]))
            if override is not None:
                return override
        return self.delay


@dataclass(frozen=True)
class Contactable:
    """What the intake says of how the family may be reached (from its contact)."""

    preferred_channel: str  # the contact's: phone | sms | email | officer | in-person
    has_email: bool
    has_phone: bool
    message_may_be_left: bool | None


@dataclass(frozen=True)
class FollowUpRequest:
    """The family's choice as the intake records it (None: the defaults)."""

    channel: FollowUpChannel
    hours: SafeHours | None = None
    time_zone: str | None = None
    reconfirmed: bool = False


def family_language(preferred: str) -> str:
    """The catalogue language nearest the family's ("es-MX" -> "es"; English otherwise)."""
    primary = preferred.split("-")[0].lower()
    return primary if primary in LANGUAGES else "en"


def has_family_violence_need(need_codes: Iterable[str]) -> bool:
    return any(c == FAMILY_VIOLENCE or c.startswith(FAMILY_VIOLENCE + ".") for c in need_codes)


def safety_sensitive(safety_concerns: bool, need_codes: Iterable[str]) -> bool:
    """The referral defaults to no follow-up: safety concerns, or a family-violence need."""
    return safety_concerns or has_family_violence_need(need_codes)


def default_channel(contact: Contactable, safety: bool) -> FollowUpChannel:
    if safety or contact.preferred_channel in ("officer", "in-person"):
        return FollowUpChannel.NONE
    if not contact.message_may_be_left:
        return FollowUpChannel.OFFICER
    if contact.preferred_channel == "email" and contact.has_email:
        return FollowUpChannel.EMAIL
    return FollowUpChannel.TEXT if contact.has_phone else FollowUpChannel.OFFICER


def plan(
    request: FollowUpRequest | None,
    contact: Contactable,
    need_codes: Iterable[str],
    safety_concerns: bool,
    policy: FollowUpPolicy,
    case_id: UUID,
    now: datetime,
) -> FollowUp:
    """The follow-up of a new case, or the named refusal (see the module's docstring)."""
    needs = tuple(need_codes)
    safety = safety_sensitive(safety_concerns, needs)
    channel = request.channel if request else default_channel(contact, safety)
    if channel is FollowUpChannel.EMAIL and not contact.has_email:
        raise FollowUpUnreachable("follow_up by email needs the family's email in client.contact")
    if channel is FollowUpChannel.TEXT and not contact.has_phone:
        raise FollowUpUnreachable("follow_up by text needs the family's phone in client.contact")
    sensitive = safety or contact.message_may_be_left is False
    if request is not None and channel in MESSAGE_CHANNELS and sensitive:
        missing = [
            what
            for what, given in (
                ("reconfirmed: true", request.reconfirmed),
                ("safe_hours", request.hours is not None),
            )
            if not given
        ]
        if missing:
            why = (
                "the referral has safety concerns or a family-violence need"
                if safety
                else "the contact says no message may be left"
            )
            raise FollowUpNotReconfirmed(
                f"{why}: a follow-up by {channel.value} goes only to the channel and hours the "
                f"family named, confirmed again with them; give {' and '.join(missing)} "
                '(or choose "officer" or "none")'
            )
    window = SafeWindow(
        (request.hours if request else None) or policy.hours,
        (request.time_zone if request else None) or policy.time_zone,
    )
    due_at = None
    if channel is not FollowUpChannel.NONE:
        due_at = window.next_moment(now + policy.delay_for(needs))
    return FollowUp(
        id=uuid.uuid4(),
        case_id=case_id,
        channel=channel,
        status=FollowUpStatus.OFF if due_at is None else FollowUpStatus.SCHEDULED,
        due_at=due_at,
        reconfirmed=bool(request and request.reconfirmed),
        chosen=request is not None,
        window=window,
    )


def check_in_safe_hours(window: SafeWindow, now: datetime) -> None:
    """A message goes only within the family's hours (a retry may come later than planned)."""
    moment = window.next_moment(now)
    if moment > now:
        raise NotInSafeHours(moment)


def new_token() -> str:
    """The link's secret: random, naming nothing (≥128 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """What the database keeps to find a link's follow-up (the token itself only sealed)."""
    return hashlib.sha256(token.encode()).digest()
