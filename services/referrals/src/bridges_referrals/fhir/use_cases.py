"""The facade's use cases: reading a referral's resources as the reader may see them (audited
as the inbox's reads are), a Task update by its owner (the inbox's transition, same rules,
versions and audit) and an inbound Task filing a referral (the officer intake)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_referrals import audit, casework, intake, sharing
from bridges_referrals.domain import (
    Case,
    ReferralNotFound,
    check_version,
    may_see,
)
from bridges_referrals.fhir import codes, inbound, resources
from bridges_referrals.follow_up import FollowUpPolicy
from bridges_referrals.models import Transition
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import ReasonCode, ReferralStatus, Role


class ResourceNotFound(LookupError):
    """No such resource, or not one the caller may see."""


@dataclass(frozen=True)
class Versioned:
    resource: resources.Resource
    version: int | None = None


async def _audit_read(
    uow: ReferralsUnitOfWork,
    viewer: Principal,
    case: Case,
    shared: sharing.Shared,
    referral_id: UUID | None,
) -> None:
    if shared.personal:
        await uow.audit.record(
            audit.Actor.of(viewer),
            audit.Action.PII_READ,
            referral_id=referral_id,
            case_id=case.id,
            detail={
                "fields": sorted(shared.client or ()),
                "situation": shared.situation is not None,
                "via": "fhir",
            },
        )


async def _agency_name(uow: ReferralsUnitOfWork, program_id: UUID) -> str | None:
    program = (await uow.programs.get_many([program_id])).get(program_id)
    return program.organization_name if program else None


async def read_task(uow: ReferralsUnitOfWork, viewer: Principal, referral_id: UUID) -> Versioned:
    async with uow:
        referral = await uow.referrals.get(referral_id)
        if referral is None or not may_see(viewer, referral):
            raise ReferralNotFound(f"no Task {referral_id}")
        case = await uow.cases.get(referral.case_id)
        assert case is not None  # a referral always belongs to a case
        shared = sharing.shared_with(viewer, referral, case)
        entries = sharing.visible_history(await uow.history.of(referral.id), shared)
        task = resources.task(
            referral,
            entries,
            resources.officer_name(case),
            await _agency_name(uow, referral.program_id),
        )
        if any(e.note for e in entries):
            await _audit_read(uow, viewer, case, shared, referral.id)
        await uow.commit()
    return Versioned(task, referral.version)


async def read_service_request(
    uow: ReferralsUnitOfWork, viewer: Principal, referral_id: UUID
) -> Versioned:
    async with uow:
        referral = await uow.referrals.get(referral_id)
        if referral is None or not may_see(viewer, referral):
            raise ReferralNotFound(f"no ServiceRequest {referral_id}")
        case = await uow.cases.get(referral.case_id)
        assert case is not None
        shared = sharing.shared_with(viewer, referral, case)
        await _audit_read(uow, viewer, case, shared, referral.id)
        await uow.commit()
    return Versioned(resources.service_request(referral, case, shared), referral.version)


async def _case_seen_by(
    uow: ReferralsUnitOfWork, viewer: Principal, case_id: UUID
) -> tuple[Case, sharing.Shared]:
    """The case and what `viewer` may see of it, through a referral of it they may see."""
    visible = [r for r in await uow.referrals.of_case(case_id) if may_see(viewer, r)]
    case = await uow.cases.get(case_id) if visible else None
    if case is None:
        raise ResourceNotFound(f"no resource {case_id}")
    return case, sharing.shared_with(viewer, visible[0], case)


async def read_patient(uow: ReferralsUnitOfWork, viewer: Principal, case_id: UUID) -> Versioned:
    async with uow:
        case, shared = await _case_seen_by(uow, viewer, case_id)
        await _audit_read(uow, viewer, case, shared, None)
        await uow.commit()
    full = viewer.role is Role.ADMIN or viewer.sub == case.officer_id
    return Versioned(resources.patient(case, shared, redacted=not full))


async def read_consent(uow: ReferralsUnitOfWork, viewer: Principal, case_id: UUID) -> Versioned:
    async with uow:
        case, _ = await _case_seen_by(uow, viewer, case_id)
    full = viewer.role is Role.ADMIN or viewer.sub == case.officer_id
    return Versioned(resources.consent(case, full=full))


async def read_healthcare_service(uow: ReferralsUnitOfWork, program_id: UUID) -> Versioned:
    async with uow:
        program = (await uow.programs.get_many([program_id])).get(program_id)
    if program is None:
        raise ResourceNotFound(f"no HealthcareService {program_id}")
    return Versioned(resources.healthcare_service(program), program.version)


# -- the Task update ----------------------------------------------------------------------


def _move_of(current: ReferralStatus, sent: Mapping[str, Any]) -> Transition | None:
    """The move a Task sent by its owner asks for (None: the status is unchanged)."""
    status = sent.get("status")
    business = {
        c.get("code")
        for c in sent.get("businessStatus", {}).get("coding", [])
        if c.get("system") == codes.STATUS_SYSTEM
    }
    if status == "requested":
        to = ReferralStatus.RECEIVED if "received" in business else ReferralStatus.REQUESTED
        if current is ReferralStatus.RECEIVED:
            to = current  # reported as `requested`: sending it back changes nothing
    else:
        try:
            to = ReferralStatus(str(status))
        except ValueError:
            raise inbound.InvalidResource(
                [("Task.status", f"Bridges cannot move a referral to {status!r}")]
            ) from None
    if to is current:
        return None
    reason_given = sent.get("statusReason") or {}
    reason = next(
        (
            ReasonCode(c["code"])
            for c in reason_given.get("coding", [])
            if c.get("system") == codes.REASON_SYSTEM and c.get("code") in set(ReasonCode)
        ),
        None,
    )
    note = reason_given.get("text") if reason is None else None
    if reason is None and note and to in (ReferralStatus.REJECTED, ReferralStatus.FAILED):
        reason = ReasonCode.OTHER  # the IG gives a text; Bridges needs a code beside it
    for output in sent.get("output", []):
        said = output.get("valueCodeableConcept", {}).get("text") or output.get("valueString")
        note = note or said
    return Transition(to=to, reason=reason, note=note)


async def update_task(
    uow: ReferralsUnitOfWork,
    actor: Principal,
    referral_id: UUID,
    expected: VersionCondition,
    body: Any,
) -> Versioned:
    """The Task as its owner sent it back: only status, statusReason and output may differ
    from the Task as it stands; the change is the inbox's transition."""
    current = await read_task(uow, actor, referral_id)  # 404 before the body is looked at
    async with uow:
        referral = await uow.referrals.get(referral_id)
        assert referral is not None
        check_version(referral, expected)
    sent = inbound.parse_resource(body, "Task")
    if sent.get("id") != str(referral_id):
        raise inbound.InvalidResource([("Task.id", "the Task's id is not the one in the URL")])
    inbound.check_only_changes(current.resource, sent, inbound.OWNER_MAY_CHANGE)
    move = _move_of(referral.status, sent)
    if move is not None:
        await casework.transition(uow, actor, referral_id, expected, move)
    return await read_task(uow, actor, referral_id)


# -- inbound ------------------------------------------------------------------------------


async def file_inbound_task(
    uow: ReferralsUnitOfWork,
    targets: ResponseTargets,
    sender: Principal,
    body: Any,
    follow_ups: FollowUpPolicy = FollowUpPolicy(),  # noqa: B008 (frozen: shared safely)
) -> tuple[UUID, bool]:
    """An EHR's Task (+ ServiceRequest, Patient, Consent) filed as a Bridges referral; returns
    (the referral's id, replayed). The Task's identifier is its idempotency key."""
    try:
        request, key = inbound.intake_of(body)
    except ValidationError as exc:
        raise inbound.InvalidResource.of(exc) from None
    result, replayed = await intake.file_referrals(
        uow, targets, sender, request, key, follow_ups=follow_ups
    )
    return result.referrals[0].id, replayed
