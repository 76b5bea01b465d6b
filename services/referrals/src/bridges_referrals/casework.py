"""Referral use cases after intake: reading one (audited when it shows personal data), moving it
through its lifecycle, marking it received, and the family withdrawing its consent.

Each runs in one unit of work: a move writes the referral, its history entry, its event and its
audit entry together, or nothing.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_referrals import audit, events, lifecycle, sharing, views
from bridges_referrals.domain import (
    CaseNotFound,
    Clock,
    HistoryEntry,
    Referral,
    ReferralNotFound,
    actor_of,
    check_version,
    may_manage_case,
    may_see,
    moved,
    opening_marks_received,
    utc_now,
)
from bridges_referrals.models import HistoryEntryView, ReferralView, Transition
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import FINAL_STATUSES, ReasonCode, ReferralStatus, Role


async def _visible(
    uow: ReferralsUnitOfWork, viewer: Principal, referral_id: UUID, *, for_update: bool = False
) -> Referral:
    referral = await uow.referrals.get(referral_id, for_update=for_update)
    if referral is None or not may_see(viewer, referral):
        raise ReferralNotFound(f"no referral {referral_id}")
    return referral


async def _apply_move(
    uow: ReferralsUnitOfWork,
    referral: Referral,
    actor: audit.Actor,
    actor_role: Role,
    to: ReferralStatus,
    at: datetime,
    reason: ReasonCode | None = None,
    note: str | None = None,
) -> Referral:
    """A checked move: the referral, its history entry, its event and its audit entry."""
    after = moved(referral, to, at)
    await uow.referrals.save(after)
    await uow.history.add(
        HistoryEntry(
            referral_id=referral.id,
            from_status=referral.status,
            to_status=to,
            version=after.version,
            actor_id=actor.id,
            actor_role=actor_role.value,
            at=at,
            reason_code=reason,
            note=note,
        )
    )
    uow.emit(events.status_changed(after, referral.status, actor_role, reason))
    await uow.audit.record(
        actor,
        audit.Action.STATUS_CHANGED,
        referral_id=referral.id,
        case_id=referral.case_id,
        detail={"from": referral.status.value, "to": to.value, "version": after.version},
    )
    return after


async def _shown(
    uow: ReferralsUnitOfWork, viewer: Principal, referral: Referral, now: datetime
) -> ReferralView:
    """The full view; showing personal data is recorded in the audit log."""
    case = await uow.cases.get(referral.case_id)
    assert case is not None  # a referral always belongs to a case
    shared = sharing.shared_with(viewer, referral, case)
    if shared.personal:
        await uow.audit.record(
            audit.Actor.of(viewer),
            audit.Action.PII_READ,
            referral_id=referral.id,
            case_id=case.id,
            detail={
                "fields": sorted(shared.client or ()),
                "situation": shared.situation is not None,
            },
        )
    entries = await uow.history.of(referral.id)
    whole = sharing.whole_case(viewer, referral)
    answer = await uow.feedback.of_case(case.id, comment=whole)
    feedback = sharing.shared_feedback(viewer, referral, case, answer)
    planned = await uow.follow_ups.get(case.id, personal=True) if whole else None
    return views.detail(viewer, referral, case, entries, shared, now, feedback, planned)


async def open_referral(
    uow: ReferralsUnitOfWork, viewer: Principal, referral_id: UUID, clock: Clock = utc_now
) -> ReferralView:
    """A referral with its history and what the viewer may see of the family. Changes nothing
    but the audit log."""
    async with uow:
        referral = await _visible(uow, viewer, referral_id)
        view = await _shown(uow, viewer, referral, clock())
        await uow.commit()
    return view


async def referral_history(
    uow: ReferralsUnitOfWork, viewer: Principal, referral_id: UUID
) -> list[HistoryEntryView]:
    """The moves of a referral (notes as the viewer may see them). A pure read."""
    async with uow:
        referral = await _visible(uow, viewer, referral_id)
        case = await uow.cases.get(referral.case_id)
        assert case is not None
        shared = sharing.shared_with(viewer, referral, case)
        return views.history(await uow.history.of(referral.id), shared)


async def mark_received(
    uow: ReferralsUnitOfWork, staff: Principal, referral_id: UUID, clock: Clock = utc_now
) -> ReferralView:
    """Staff of the receiving agency opened the referral: a new one becomes `received` (once;
    opening it again changes nothing)."""
    async with uow:
        referral = await _visible(uow, staff, referral_id, for_update=True)
        now = clock()
        if opening_marks_received(staff, referral):
            referral = await _apply_move(
                uow, referral, audit.Actor.of(staff), staff.role, ReferralStatus.RECEIVED, now
            )
        view = await _shown(uow, staff, referral, now)
        await uow.commit()
    return view


async def transition(
    uow: ReferralsUnitOfWork,
    actor: Principal,
    referral_id: UUID,
    expected: VersionCondition,
    move: Transition,
    clock: Clock = utc_now,
) -> ReferralView:
    """Move a referral to `move.to` if it is still at the version the caller read."""
    async with uow:
        referral = await _visible(uow, actor, referral_id, for_update=True)
        check_version(referral, expected)
        lifecycle.check_transition(referral.status, move.to, actor_of(actor, referral), move.reason)
        now = clock()
        referral = await _apply_move(
            uow,
            referral,
            audit.Actor.of(actor),
            actor.role,
            move.to,
            now,
            move.reason,
            move.note,
        )
        view = await _shown(uow, actor, referral, now)
        await uow.commit()
    return view


async def withdraw_consent(
    uow: ReferralsUnitOfWork,
    actor: Principal,
    case_id: UUID,
    note: str | None,
    clock: Clock = utc_now,
) -> list[UUID]:
    """The family withdraws its consent: the case's open referrals are cancelled and its
    personal data is erased, for everyone. Returns the cancelled referrals' ids (none the
    second time). The officer's note stays with the consent, never in an agency's view."""
    async with uow:
        case = await uow.cases.get(case_id, for_update=True, personal=False)
        if case is None or not may_manage_case(actor, case):
            raise CaseNotFound(f"no case {case_id}")
        if not case.consent.active:
            return []
        now = clock()
        # the referrals are locked before anything is erased: a move still writing a note (sealed
        # under the case's key) commits first, and its note is erased with the rest
        referrals = await uow.referrals.of_case(case_id, for_update=True)
        await uow.cases.withdraw_consent(case_id, now, note)
        who = audit.Actor.of(actor)
        cancelled: list[UUID] = []
        for referral in referrals:
            if referral.status in FINAL_STATUSES:
                continue
            await _apply_move(
                uow,
                referral,
                who,
                actor.role,
                ReferralStatus.CANCELLED,
                now,
                ReasonCode.CONSENT_WITHDRAWN,
            )
            cancelled.append(referral.id)
        await uow.audit.record(
            who,
            audit.Action.CONSENT_WITHDRAWN,
            case_id=case_id,
            detail={"cancelled": [str(i) for i in cancelled]},
        )
        await uow.commit()
    return cancelled
