"""Filing a referral: one case for the family, one referral per chosen program, in one unit of
work with the family's consent, each referral's first history entry and its event. A retried
intake (same Idempotency-Key, same content) returns the first answer and does nothing more.

A new intake for programs this process read lately is decided before anything is sent and
written in one statement (one round trip), guarded by the key, the programs' versions and its
needs being known (`need_codes`); any
other intake, or one whose guard fails, reads first and decides on what the database says.
Either way each referral gets a fresh reference (`references`); one that another referral
already has makes the database refuse the whole intake, which is then filed again with new
references (a handful of times at most)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from bridges_kit.principal import Principal
from bridges_kit.uow import NothingWritten
from bridges_referrals import events, follow_up, references, sharing, views
from bridges_referrals.domain import (
    Case,
    Clock,
    Consent,
    ConsentMissing,
    HistoryEntry,
    IdempotencyKeyReused,
    NewIntake,
    OfficerUnreachable,
    Program,
    ProgramNotAccepting,
    ReferenceTaken,
    Referral,
    UnknownNeed,
    UnknownProgram,
    check_can_take_referral,
    utc_now,
)
from bridges_referrals.follow_up import FollowUpPolicy
from bridges_referrals.models import FileReferral, IntakeResult
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import CloudEvent, ReferralStatus

# What refuses an intake; decided on programs read lately, the database is asked before saying so
_REFUSALS = (
    ConsentMissing,
    UnknownProgram,
    ProgramNotAccepting,
    OfficerUnreachable,
    follow_up.FollowUpUnreachable,
    follow_up.FollowUpNotReconfirmed,
)
# How often an intake is filed again when a reference it drew was taken (each time 1 in
# millions while the database holds a few million referrals).
REFERENCE_DRAWS = 5

Draw = Callable[[], str]


def plan_follow_up(
    request: FileReferral, policy: FollowUpPolicy, case_id: UUID, now: datetime
) -> follow_up.FollowUp:
    """The new case's follow-up as its intake asks (or the refusal `follow_up.plan` names)."""
    contact = request.client.contact
    return follow_up.plan(
        request.follow_up.request() if request.follow_up else None,
        follow_up.Contactable(
            preferred_channel=contact.preferred_channel.value,
            has_email=contact.email is not None,
            has_phone=contact.phone is not None,
            message_may_be_left=contact.safe_to_leave_message,
        ),
        request.needs,
        request.safety_concerns,
        policy,
        case_id,
        now,
    )


def _officer_contact(officer: Principal, request: FileReferral) -> dict[str, str]:
    given = request.officer_contact
    contact = {
        "name": (given.name if given and given.name else officer.name),
        "email": (str(given.email) if given and given.email else officer.email),
        "phone": given.phone if given else None,
    }
    present = {k: v for k, v in contact.items() if v}
    if request.client.contact.through_officer and not ({"email", "phone"} & set(present)):
        raise OfficerUnreachable(
            "the family is reached through you: give your phone or email in officer_contact"
        )
    return present


def _consent(officer: Principal, request: FileReferral) -> Consent:
    if request.consent is None:
        raise ConsentMissing("the family's consent is required: record who consented, how and when")
    given = request.consent
    return Consent(
        given_by=given.given_by.value,
        given_by_name=given.given_by_name,
        method=given.method.value,
        given_at=given.given_at,
        scopes=frozenset(given.scopes),
        recorded_by=officer.sub,
        text_version=given.text_version,
    )


@dataclass(frozen=True)
class _Filing:
    """What an intake stores and emits, decided before anything is written."""

    case: Case
    referrals: tuple[Referral, ...]
    first_entries: tuple[HistoryEntry, ...]
    events: tuple[CloudEvent[Any], ...]
    result: IntakeResult


def _filing(
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    programs: Mapping[UUID, Program],
    now: datetime,
    draw: Draw,
    follow_ups: FollowUpPolicy,
) -> _Filing:
    """The case, one referral per chosen program with its first history entry and event, and
    the answer; a named refusal if the consent, a program, the officer's contact or the
    family's follow-up will not do."""
    consent = _consent(officer, request)
    chosen = [check_can_take_referral(pid, programs.get(pid)) for pid in request.program_ids]
    case_id = uuid.uuid4()
    case = Case(
        id=case_id,
        officer_id=officer.sub,
        need_codes=tuple(sorted(set(request.needs))),
        urgency=request.urgency,
        created_at=now,
        consent=consent,
        client=request.client.model_dump(mode="json", exclude_none=True),
        situation=request.situation,
        officer_contact=_officer_contact(officer, request),
        safety_concerns=request.safety_concerns,
        follow_up=plan_follow_up(request, follow_ups, case_id, now),
    )
    respond_by = targets.respond_by(request.urgency, now)
    referrals: list[Referral] = []
    entries: list[HistoryEntry] = []
    emitted: list[CloudEvent[Any]] = []
    for program in chosen:
        assert program.agency_id is not None  # checked: a program without one takes none
        referral = Referral(
            id=uuid.uuid4(),
            case_id=case.id,
            program_id=program.service_id,
            agency_id=program.agency_id,
            officer_id=officer.sub,
            status=ReferralStatus.REQUESTED,
            urgency=request.urgency,
            version=1,
            respond_by=respond_by,
            created_at=now,
            updated_at=now,
            reference=draw(),
            program_name=program.name,
        )
        referrals.append(referral)
        entries.append(
            HistoryEntry(
                referral_id=referral.id,
                from_status=None,
                to_status=ReferralStatus.REQUESTED,
                version=1,
                actor_id=officer.sub,
                actor_role=officer.role.value,
                at=now,
            )
        )
        emitted.append(events.requested(referral, sharing.shared_needs(consent, case.need_codes)))
    result = IntakeResult(case_id=case.id, referrals=[views.summary(r, now) for r in referrals])
    return _Filing(case, tuple(referrals), tuple(entries), tuple(emitted), result)


async def file_referrals(
    uow: ReferralsUnitOfWork,
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    idempotency_key: str,
    clock: Clock = utc_now,
    draw: Draw = references.new_reference,
    follow_ups: FollowUpPolicy = FollowUpPolicy(),  # noqa: B008 (frozen: shared safely)
    one_statement: bool = True,
) -> tuple[IntakeResult, bool]:
    """File one referral per chosen program; returns (result, replayed).

    Most intakes are new, for programs this process read lately: those are written in one
    statement, guarded by the key and the programs' versions. Any other (a retry, a refusal,
    a program not read lately or changed since) takes the path that reads first."""
    expected = uow.fingerprints.of(request)
    for attempt in range(1, REFERENCE_DRAWS + 1):
        try:
            filed = (
                await _file_in_one_statement(
                    uow,
                    targets,
                    officer,
                    request,
                    idempotency_key,
                    expected,
                    clock,
                    draw,
                    follow_ups,
                )
                if one_statement
                else None
            )
            if filed is not None:
                return filed, False
            return await _file_after_reading(
                uow, targets, officer, request, idempotency_key, expected, clock, draw, follow_ups
            )
        except ReferenceTaken:
            if attempt == REFERENCE_DRAWS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _file_in_one_statement(
    uow: ReferralsUnitOfWork,
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    idempotency_key: str,
    expected: str,
    clock: Clock,
    draw: Draw,
    follow_ups: FollowUpPolicy,
) -> IntakeResult | None:
    """The result, or None when nothing was written: the key was taken (a retry), or a program
    was not read lately, changed since or refuses (the database has the last word)."""
    try:
        async with uow.in_one_statement():
            remembered = uow.intakes.read_lately(request.program_ids)
            try:
                filing = _filing(targets, officer, request, remembered, clock(), draw, follow_ups)
            except _REFUSALS:
                return None  # nothing was sent
            await uow.intakes.add(
                NewIntake(
                    officer_id=officer.sub,
                    idempotency_key=idempotency_key,
                    fingerprint=expected,
                    answer=filing.result.model_dump(mode="json"),
                    case=filing.case,
                    referrals=filing.referrals,
                    first_entries=filing.first_entries,
                    program_versions={pid: remembered[pid].version for pid in request.program_ids},
                )
            )
            for event in filing.events:
                uow.emit(event)
            await uow.commit()
    except NothingWritten:
        return None
    return filing.result


async def _file_after_reading(
    uow: ReferralsUnitOfWork,
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    idempotency_key: str,
    expected: str,
    clock: Clock,
    draw: Draw,
    follow_ups: FollowUpPolicy,
) -> tuple[IntakeResult, bool]:
    async with uow:
        earlier = await uow.intake_keys.claim(officer.sub, idempotency_key, expected)
        if earlier is not None:
            if (
                not uow.fingerprints.matches(earlier.fingerprint, request)
                or earlier.response is None
            ):
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different referral"
                )
            return await _first_answer(uow, earlier.response), True
        programs = await uow.programs.get_many(request.program_ids)
        unknown = await uow.programs.unknown_needs(request.needs)
        if unknown:
            raise UnknownNeed(request.needs, unknown)
        filing = _filing(targets, officer, request, programs, clock(), draw, follow_ups)
        await uow.cases.add(filing.case)
        for referral, entry in zip(filing.referrals, filing.first_entries, strict=True):
            await uow.referrals.add(referral)
            await uow.history.add(entry)
        for event in filing.events:
            uow.emit(event)
        await uow.intake_keys.answer(
            officer.sub, idempotency_key, filing.result.model_dump(mode="json")
        )
        await uow.commit()
    return filing.result, False


async def _first_answer(uow: ReferralsUnitOfWork, answer: Mapping[str, Any]) -> IntakeResult:
    """The answer kept under the key; one kept before references existed gets them now."""
    referrals = []
    for item in answer["referrals"]:
        if "reference" not in item:
            stored = await uow.referrals.get(UUID(item["id"]))
            item = {**item, "reference": stored.reference if stored else None}
        referrals.append(item)
    return IntakeResult.model_validate({**answer, "referrals": referrals})
