"""Filing a referral: one case for the family, one referral per chosen program, in one unit of
work with the family's consent, each referral's first history entry and its event. A retried
intake (same Idempotency-Key, same content) returns the first answer and does nothing more."""

from __future__ import annotations

import hashlib
import uuid

from bridges_kit.principal import Principal
from bridges_referrals import events, sharing, views
from bridges_referrals.domain import (
    Case,
    Clock,
    Consent,
    ConsentMissing,
    HistoryEntry,
    IdempotencyKeyReused,
    OfficerUnreachable,
    Referral,
    check_can_take_referral,
    utc_now,
)
from bridges_referrals.models import FileReferral, IntakeResult, ReferralView
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import ReferralStatus


def fingerprint(request: FileReferral) -> str:
    # a field added since is left out while unset: a retry from before an upgrade still matches
    unset = request.consent is not None and request.consent.text_version is None
    exclude = {"consent": {"text_version"}} if unset else None
    return hashlib.sha256(request.model_dump_json(exclude=exclude).encode()).hexdigest()


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


async def file_referrals(
    uow: ReferralsUnitOfWork,
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    idempotency_key: str,
    clock: Clock = utc_now,
) -> tuple[IntakeResult, bool]:
    """File one referral per chosen program; returns (result, replayed)."""
    expected = fingerprint(request)
    async with uow:
        earlier = await uow.intake_keys.claim(officer.sub, idempotency_key, expected)
        if earlier is not None:
            if earlier.fingerprint != expected or earlier.response is None:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different referral"
                )
            return IntakeResult.model_validate(earlier.response), True
        consent = _consent(officer, request)
        programs = await uow.programs.get_many(request.program_ids)
        chosen = [check_can_take_referral(pid, programs.get(pid)) for pid in request.program_ids]
        now = clock()
        case = Case(
            id=uuid.uuid4(),
            officer_id=officer.sub,
            need_codes=tuple(sorted(set(request.needs))),
            urgency=request.urgency,
            created_at=now,
            consent=consent,
            client=request.client.model_dump(mode="json", exclude_none=True),
            situation=request.situation,
            officer_contact=_officer_contact(officer, request),
        )
        await uow.cases.add(case)
        respond_by = targets.respond_by(request.urgency, now)
        summaries: list[ReferralView] = []
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
                program_name=program.name,
            )
            await uow.referrals.add(referral)
            await uow.history.add(
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
            uow.emit(events.requested(referral, sharing.shared_needs(consent, case.need_codes)))
            summaries.append(views.summary(referral, now))
        result = IntakeResult(case_id=case.id, referrals=summaries)
        await uow.intake_keys.answer(officer.sub, idempotency_key, result.model_dump(mode="json"))
        await uow.commit()
    return result, False
