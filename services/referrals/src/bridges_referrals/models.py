"""What the referrals API accepts and returns (pydantic, with limits on every field)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from bridges_kit.fields import Instant
from bridges_referrals.domain import ConsentScope
from bridges_referrals.follow_up import (
    AnswerChannel,
    FollowUpChannel,
    FollowUpRequest,
    FollowUpStatus,
    SafeHours,
)
from bridges_schema import FamilyAnswer, ReasonCode, ReferralStatus, Role, Urgency

Name = Annotated[str, Field(min_length=1, max_length=100)]
Phone = Annotated[str, Field(min_length=3, max_length=30, pattern=r"^[0-9+() .\-]+$")]
_CLOCK_SKEW = timedelta(minutes=5)
NeedCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
TextVersion = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    OFFICER = "officer"  # no phone or email of its own: the agency reaches it through the officer
    IN_PERSON = "in-person"  # the family comes in (or is met) in person; the officer arranges it


class Contact(Strict):
    phone: Phone | None = None
    email: EmailStr | None = None
    preferred_channel: ContactChannel = ContactChannel.PHONE
    preferred_language: Annotated[str, Field(min_length=2, max_length=35)] = "en"
    interpreter_needed: bool = False
    best_time: Annotated[str, Field(max_length=100)] | None = None
    safe_to_leave_message: bool | None = Field(
        default=None,
        description="required when the family is phoned, texted or emailed; a family reached "
        "only through the officer or in person is left no message",
    )

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        # The tablet's form applies the same rules (app/src/referral.js, `applies`); a test
        # feeds both the same drafts (tests/test_form_rules_agree.py).
        channel = self.preferred_channel
        if channel in (ContactChannel.PHONE, ContactChannel.SMS) and self.phone is None:
            missing = "a phone number"
        elif channel is ContactChannel.EMAIL and self.email is None:
            missing = "an email address"
        elif not self.through_officer and self.safe_to_leave_message is None:
            raise ValueError(
                f"safe_to_leave_message is required when the family is reached by "
                f"{channel.value}: say whether a message may be left"
            )
        else:
            return self
        raise ValueError(
            f"preferred_channel {channel.value} needs {missing}; a family without one is "
            "reached through the officer (preferred_channel: officer)"
        )

    @property
    def through_officer(self) -> bool:
        return self.preferred_channel in (ContactChannel.OFFICER, ContactChannel.IN_PERSON)


class HouseholdMember(Strict):
    given_name: Name
    family_name: Name | None = None
    relationship: Annotated[str, Field(min_length=1, max_length=40)]
    date_of_birth: date | None = None
    age: int | None = Field(default=None, ge=0, le=130)


class Client(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    contact: Contact
    household: list[HouseholdMember] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _born(self) -> Client:
        if self.date_of_birth and self.date_of_birth > datetime.now(UTC).date():
            raise ValueError("date_of_birth is in the future")
        return self


class ConsentGiver(StrEnum):
    CLIENT = "client"
    GUARDIAN = "guardian"


class ConsentMethod(StrEnum):
    VERBAL = "verbal"
    WRITTEN = "written"
    SIGNATURE = "signature"


class Consent(Strict):
    given_by: ConsentGiver
    given_by_name: Name | None = Field(default=None, description="the guardian's name, if any")
    method: ConsentMethod
    given_at: Instant
    scopes: list[ConsentScope] = Field(min_length=1, max_length=4)
    text_version: TextVersion | None = Field(
        default=None, description="the version of the consent text read to the family"
    )

    @model_validator(mode="after")
    def _sensible(self) -> Consent:
        if self.given_at.tzinfo is None:
            raise ValueError("given_at needs a time zone offset")
        if self.given_at > datetime.now(UTC).replace(microsecond=0) + _CLOCK_SKEW:
            raise ValueError("given_at is in the future")
        if ConsentScope.CONTACT not in self.scopes:
            raise ValueError("consent must at least cover sharing contact details")
        if self.given_by is ConsentGiver.GUARDIAN and not self.given_by_name:
            raise ValueError("a guardian's consent needs the guardian's name (given_by_name)")
        return self


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_time_zone(name: str) -> str:
    if name not in _time_zones():
        raise ValueError("not a time zone name of the IANA database, e.g. America/Los_Angeles")
    return name


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_known_time_zone)]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["17:30"])]


class SafeHoursIn(Strict):
    """When a message is safe for the family, in its time zone: from `from` to `to` (wrapping
    midnight when `to` is earlier; equal: any time)."""

    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")

    def hours(self) -> SafeHours:
        return SafeHours.parse(f"{self.start}-{self.end}")


class FollowUpChoice(Strict):
    """The family's choice of a follow-up ("did you get help?"), asked by the officer. Left
    out, the defaults apply (see the README: none for a family reached only through the
    officer or with safety concerns)."""

    channel: FollowUpChannel
    safe_hours: SafeHoursIn | None = Field(
        default=None, description="default: the deployment's (BRIDGES_FOLLOWUP_HOURS)"
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="the family's, e.g. America/Los_Angeles; default: the deployment's",
    )
    reconfirmed: bool = Field(
        default=False,
        description="the family confirmed again that this channel and these hours are safe: "
        "required for a message (email, text) when the referral has safety concerns, a "
        "family-violence need, or the contact says no message may be left",
    )

    def request(self) -> FollowUpRequest:
        return FollowUpRequest(
            channel=self.channel,
            hours=self.safe_hours.hours() if self.safe_hours else None,
            time_zone=self.time_zone,
            reconfirmed=self.reconfirmed,
        )


class OfficerContact(Strict):
    """How the agency reaches the officer (shown to the agency; the token gives name and email)."""

    name: Name | None = None
    phone: Phone | None = None
    email: EmailStr | None = None


class FileReferral(Strict):
    """One intake: a family, its needs, the chosen program(s) and the family's consent."""

    client: Client
    needs: list[NeedCode] = Field(min_length=1, max_length=20)
    situation: Annotated[str, Field(max_length=4000)] | None = None
    urgency: Urgency
    program_ids: list[UUID] = Field(min_length=1, max_length=10)
    consent: Consent | None = None
    officer_contact: OfficerContact | None = None
    safety_concerns: bool = Field(
        default=False,
        description="the officer's mark: contacting the family needs care (no follow-up "
        "message unless the family re-confirms one)",
    )
    follow_up: FollowUpChoice | None = Field(
        default=None, description="how the family wants to be asked whether it got help"
    )

    @model_validator(mode="after")
    def _distinct_programs(self) -> FileReferral:
        if len(set(self.program_ids)) != len(self.program_ids):
            raise ValueError("program_ids lists a program twice")
        return self


class SignedInUser(BaseModel):
    """Who the caller's token says they are, as Bridges reads it (the app's sign-in asks)."""

    id: str = Field(description="the token's subject")
    name: str | None
    email: str | None
    role: Role
    agency_id: UUID | None
    agency_name: str | None = Field(description="the agency's name as the directory has it")


class HistoryEntryView(BaseModel):
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    version: int
    actor_id: str
    actor_role: str
    reason_code: ReasonCode | None
    note: str | None
    at: datetime


class ConsentView(BaseModel):
    """The consent behind a referral: what was shared and whether it still holds."""

    scopes: list[ConsentScope]
    given_by: str
    method: str
    given_at: datetime
    text_version: str | None = Field(default=None, description="the consent text's version")
    withdrawn_at: datetime | None = None
    given_by_name: str | None = Field(default=None, description="officers and admins only")
    withdrawal_note: str | None = Field(default=None, description="officers and admins only")


class FamilyFeedbackView(BaseModel):
    """The family's answer to "did you get help?"."""

    answer: FamilyAnswer
    at: datetime
    via: AnswerChannel = Field(description="link: the family's own; officer: told to them")
    comment: str | None = Field(default=None, description="the family's words: officers only")


class FollowUpView(BaseModel):
    """How and when the family is asked (officers and admins only)."""

    channel: FollowUpChannel
    chosen: bool = Field(description="the family chose it (false: the default applied)")
    status: FollowUpStatus
    due_at: datetime | None
    safe_hours: str | None = Field(
        default=None, description='"HH:MM-HH:MM" in time_zone', examples=["17:00-20:00"]
    )
    time_zone: str | None = None
    language: str = Field(description="the message's and the page's (en or es)")
    reconfirmed: bool
    sent_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, description="when the link stops working")


class FamilyFeedbackIn(Strict):
    """What the family told the officer when asked "did you get help?"."""

    answer: FamilyAnswer
    comment: Annotated[str, Field(max_length=1000)] | None = None


class ReferralView(BaseModel):
    id: UUID
    reference: str = Field(
        description="the short human reference (BR- and 5 characters), the same for the officer "
        "and the agency; search it with `q`",
        examples=["BR-7K3F9"],
    )
    case_id: UUID
    program_id: UUID
    program_name: str | None
    agency_id: UUID
    officer_id: str
    status: ReferralStatus
    urgency: Urgency
    version: int
    respond_by: datetime
    overdue: bool
    agency_not_reached: bool = False
    consent_withdrawn: bool = False
    created_at: datetime
    updated_at: datetime
    family_label: str | None = Field(
        default=None,
        description="the family's given name and family initial ('Amara D.'): to the agency only "
        "with the `contact` scope while consent holds; to the filing officer while the data exists",
    )
    language: str | None = Field(
        default=None, description="the language to speak to the family (with `contact`)"
    )
    interpreter_needed: bool | None = Field(default=None, description="with `contact`")
    officer_name: str | None = Field(default=None, description="the referring officer")
    client: dict[str, Any] | None = None
    needs: list[str] = Field(default_factory=list, description="with the `needs` scope")
    situation: str | None = None
    officer_contact: dict[str, str] | None = None
    consent: ConsentView | None = None
    history: list[HistoryEntryView] | None = None
    last_change: HistoryEntryView | None = Field(default=None, description="in the officer's list")
    family_feedback: FamilyFeedbackView | None = Field(
        default=None,
        description="the family's answer; agencies see it (without the comment) only when the "
        "consent shares the situation",
    )
    ask_family: bool = Field(
        default=False,
        description='officers: "ask the family: did you get help?" (record it with '
        "POST /referrals/{id}/family-feedback)",
    )
    safety_concerns: bool | None = Field(default=None, description="officers and admins only")
    follow_up: FollowUpView | None = Field(default=None, description="officers and admins only")


class ProgramOption(BaseModel):
    """One of the agency's programs, to filter its inbox by."""

    id: UUID
    name: str


class ReferralPage(BaseModel):
    items: list[ReferralView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ConsentWithdrawal(Strict):
    note: Annotated[str, Field(max_length=2000)] | None = None


class FamilyMessage(BaseModel):
    """A family's follow-up message as the notifications service sends it (never stored
    there): the address, and the words in the family's language with the one-tap link."""

    follow_up_id: UUID
    channel: Literal["email", "sms"]
    to: str
    language: str
    subject: str
    text: str
    html: str | None = Field(default=None, description="email only")


class IntakeResult(BaseModel):
    case_id: UUID
    referrals: list[ReferralView]


class Transition(Strict):
    to: ReferralStatus
    reason: ReasonCode | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
