"""The referrals domain: what the service keeps (plain dataclasses) and the rules over it, named
errors included. Pure: no I/O, no framework — unit-tested on its own and through the use cases.

Rules for who may see what of a family live in `sharing`, and the referral state machine in
`lifecycle`; this module holds the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_referrals import lifecycle
from bridges_referrals.follow_up import FollowUp
from bridges_schema import FINAL_STATUSES, ReasonCode, ReferralStatus, Role, Urgency

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConsentScope(StrEnum):
    """What the receiving program may see of the family."""

    CONTACT = "contact"
    HOUSEHOLD = "household"
    NEEDS = "needs"
    SITUATION = "situation"


# -- what the service keeps ----------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A program as the directory's events describe it (the read-model)."""

    service_id: UUID
    version: int
    name: str
    organization_name: str
    agency_id: UUID | None
    status: str
    accepting_referrals: bool
    capacity_status: str
    taxonomy_codes: tuple[str, ...] = ()
    deleted: bool = False
    capacity_until: date | None = None  # the day its intake is expected to reopen
    capacity_note: str | None = None  # the agency's words on its intake


# The directory raises a program's version by one with each change and publishes every change
# in order, so the read-model sees a gap only where events were parked (each one an alert) or
# are still being retried: a few. A leap past this is no producer's: applied, a forged version
# would make every real change after it look stale, and freeze the program as the forger left it.
MAX_PROGRAM_VERSION_STEP = 100


def check_program_version(service_id: UUID, known: int | None, incoming: int) -> None:
    """Refuse a change no directory could have made (`known`: what the read-model holds, None
    for a program it has not seen, whose first event may come at any version)."""
    if known is not None and incoming > known + MAX_PROGRAM_VERSION_STEP:
        raise ImplausibleVersion(
            f"program {service_id} would jump from version {known} to {incoming}"
        )


@dataclass(frozen=True)
class Consent:
    """The family's consent as recorded at intake (and its withdrawal, if any)."""

    given_by: str
    method: str
    given_at: datetime
    scopes: frozenset[ConsentScope]
    recorded_by: str
    given_by_name: str | None = None
    text_version: str | None = None  # which consent text the family was shown or read
    withdrawn_at: datetime | None = None
    withdrawal_note: str | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True)
class Case:
    """One intake: the family (personal data, until purged), its needs and its consent."""

    id: UUID
    officer_id: str
    need_codes: tuple[str, ...]
    urgency: Urgency
    created_at: datetime
    consent: Consent
    client: Mapping[str, Any] | None = None  # personal data; None once purged
    situation: str | None = None  # personal data; None once purged
    officer_contact: Mapping[str, str] | None = None  # how an agency reaches the officer
    purged_at: datetime | None = None
    safety_concerns: bool = False  # marked by the officer: contact the family with care
    follow_up: FollowUp | None = None  # as planned at intake (see `follow_up`); not read back


@dataclass(frozen=True)
class Referral:
    """One referral of a case to one program."""

    id: UUID
    case_id: UUID
    program_id: UUID
    agency_id: UUID
    officer_id: str
    status: ReferralStatus
    urgency: Urgency
    version: int
    respond_by: datetime
    created_at: datetime
    updated_at: datetime
    reference: str  # the short human reference, e.g. BR-7K3F9 (see `references`)
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    agency_not_reached: bool = False
    program_name: str | None = None

    def overdue(self, now: datetime) -> bool:
        return self.status in lifecycle.AWAITING_RESPONSE and self.respond_by < now


@dataclass(frozen=True)
class HistoryEntry:
    """One status change: who made it, when, why."""

    referral_id: UUID
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    version: int
    actor_id: str
    actor_role: str
    at: datetime
    reason_code: ReasonCode | None = None
    note: str | None = None


@dataclass(frozen=True)
class IdempotentIntake:
    """An earlier intake under the same Idempotency-Key: its request's fingerprint (None once
    erased with the family's data) and answer."""

    fingerprint: str | None
    response: Mapping[str, Any] | None


@dataclass(frozen=True)
class NewIntake:
    """A new intake stored whole or not at all: the case (with its consent), one referral per
    program with its first history entry, and the answer kept under the officer's
    Idempotency-Key. Stored only while the key is free and every program is still at the
    version it was read at (`program_versions`)."""

    officer_id: str
    idempotency_key: str
    fingerprint: str
    answer: Mapping[str, Any]
    case: Case
    referrals: tuple[Referral, ...]
    first_entries: tuple[HistoryEntry, ...]
    program_versions: Mapping[UUID, int]


# -- errors --------------------------------------------------------------------------------


class ConsentMissing(ValueError):
    """A referral cannot be filed without the family's recorded consent."""


class UnknownProgram(ValueError):
    """The chosen program is not in the directory (as this service knows it)."""


class UnknownNeed(ValueError):
    """Needs the directory's taxonomy does not hold (as this service knows it), each named by
    its place in the request (the code itself is not echoed: free text may be personal)."""

    def __init__(self, needs: Sequence[str], unknown: Collection[str]) -> None:
        places = [i for i, code in enumerate(needs) if code in unknown]
        super().__init__(
            f"{len(places)} need(s) not in the directory's taxonomy; nothing was filed"
        )
        self.problem_extensions = {
            "errors": [
                {
                    "location": ["body", "needs", i],
                    "message": "not a need code of the directory's taxonomy",
                    "type": "unknown_need",
                }
                for i in places
            ]
        }


class ProgramNotAccepting(ValueError):
    """The chosen program does not take referrals now."""


class OfficerUnreachable(ValueError):
    """The family is to be contacted through the officer, but the officer left no contact."""


class IdempotencyKeyReused(ValueError):
    """The Idempotency-Key was already used for a different request."""


class ReferenceTaken(Exception):
    """A new referral drew a reference another referral already has (drawn again)."""


class ReferralNotFound(LookupError):
    """No such referral, or not one the caller may see (the two are told apart to no one)."""


class CaseNotFound(LookupError):
    """No such case, or not one the caller filed."""


class StaleVersion(Exception):
    """The referral changed since the caller read it (If-Match does not match)."""


class ImplausibleVersion(ValueError):
    """A directory event leaps further ahead of the read-model than the directory ever does."""


# -- rules ---------------------------------------------------------------------------------


def check_can_take_referral(program_id: UUID, program: Program | None) -> Program:
    """The program, if it can take a referral now; else the named refusal."""
    if program is None or program.deleted:
        raise UnknownProgram(f"program {program_id} is not in the directory")
    if not program.accepting_referrals or program.status != "active" or program.agency_id is None:
        raise ProgramNotAccepting(not_accepting_reason(program))
    return program


def not_accepting_reason(program: Program) -> str:
    """Why a program refuses referrals, in the agency's words and with its "until" day when it
    gave them (shown to the officer as the server's reason)."""
    said = f"{program.name} is not accepting referrals"
    if program.status != "active":
        said += f" (it is {program.status})"
    elif program.capacity_until is not None:
        said += f" until {program.capacity_until.isoformat()}"
    return f"{said}: {program.capacity_note}" if program.capacity_note else said


def may_see(viewer: Principal, referral: Referral) -> bool:
    """Admins see every referral; agency staff their agency's; officers those they filed."""
    if viewer.role is Role.ADMIN:
        return True
    if viewer.role is Role.AGENCY_STAFF:
        return viewer.agency_id == referral.agency_id
    if viewer.role is Role.OFFICER:
        return viewer.sub == referral.officer_id
    return False


def may_manage_case(actor: Principal, case: Case) -> bool:
    """Consent is withdrawn by the officer who filed the case, or an admin."""
    return actor.role is Role.ADMIN or (actor.role is Role.OFFICER and actor.sub == case.officer_id)


def opening_marks_received(viewer: Principal, referral: Referral) -> bool:
    """Staff of the receiving agency opening a new referral have received it."""
    return (
        viewer.role is Role.AGENCY_STAFF
        and viewer.agency_id == referral.agency_id
        and referral.status is ReferralStatus.REQUESTED
    )


def actor_of(actor: Principal, referral: Referral) -> lifecycle.Actor:
    return lifecycle.Actor(
        actor.role,
        is_receiving_agency=actor.role is Role.AGENCY_STAFF
        and actor.agency_id == referral.agency_id,
        is_filing_officer=actor.role is Role.OFFICER and actor.sub == referral.officer_id,
    )


def moved(referral: Referral, to: ReferralStatus, at: datetime) -> Referral:
    """The referral after a (checked) move to `to` at `at`."""
    answered = referral.status in lifecycle.AWAITING_RESPONSE and to in lifecycle.RESPONSES
    return replace(
        referral,
        status=to,
        version=referral.version + 1,
        updated_at=at,
        first_response_at=referral.first_response_at or (at if answered else None),
        closed_at=at if to in FINAL_STATUSES else referral.closed_at,
    )


def check_version(referral: Referral, condition: VersionCondition) -> None:
    if not condition.matches(referral.version):
        raise StaleVersion(
            f"the referral is at version {referral.version}, which is not the version you sent: "
            "reload it and try again"
        )
