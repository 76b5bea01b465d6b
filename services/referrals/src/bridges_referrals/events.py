"""The events the referrals service publishes, built from domain objects (pure). They carry
ids, codes and statuses; need codes only when the family agreed to share its needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridges_referrals.domain import Referral
from bridges_referrals.follow_up import FamilyFeedback, FollowUp
from bridges_schema import (
    FAMILY_FEEDBACK_RECEIVED,
    FINAL_STATUSES,
    FOLLOW_UP_DUE,
    REFERRAL_OVERDUE,
    REFERRAL_REQUESTED,
    CloudEvent,
    Domain,
    FamilyFeedbackReceived,
    FollowUpDue,
    ReasonCode,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    new_event,
    producer_source,
    referral_status_event,
)

SOURCE = producer_source(Domain.REFERRAL)


def _about(referral: Referral) -> dict[str, Any]:
    """What every referral event says about the referral it concerns."""
    return {
        "referral_id": referral.id,
        "reference": referral.reference,
        "case_id": referral.case_id,
        "program_id": referral.program_id,
        "agency_id": referral.agency_id,
        "officer_id": referral.officer_id,
        "urgency": referral.urgency,
    }


def requested(referral: Referral, need_codes: tuple[str, ...]) -> CloudEvent[ReferralRequested]:
    return new_event(
        REFERRAL_REQUESTED,
        ReferralRequested(
            **_about(referral),
            need_codes=need_codes,
            version=referral.version,
            requested_at=referral.created_at,
            respond_by=referral.respond_by,
        ),
        source=SOURCE,
        subject=str(referral.id),
    )


def status_changed(
    referral: Referral, previous: ReferralStatus, actor_role: Role, reason: ReasonCode | None
) -> CloudEvent[ReferralStatusChanged]:
    return new_event(
        referral_status_event(referral.status),
        ReferralStatusChanged(
            **_about(referral),
            status=referral.status,
            previous_status=previous,
            reason_code=reason,
            actor_role=actor_role,
            version=referral.version,
            changed_at=referral.updated_at,
        ),
        source=SOURCE,
        subject=str(referral.id),
    )


def overdue(referral: Referral, detected_at: datetime) -> CloudEvent[ReferralOverdue]:
    return new_event(
        REFERRAL_OVERDUE,
        ReferralOverdue(
            **_about(referral),
            status=referral.status,
            respond_by=referral.respond_by,
            detected_at=detected_at,
        ),
        source=SOURCE,
        subject=str(referral.id),
    )


def follow_up_due(follow_up: FollowUp, at: datetime) -> CloudEvent[FollowUpDue]:
    """Ids and the channel only: the notifications service asks for the message itself."""
    channel = follow_up.message_channel
    assert channel is not None, "only a message is due"
    return new_event(
        FOLLOW_UP_DUE,
        FollowUpDue(
            follow_up_id=follow_up.id, case_id=follow_up.case_id, channel=channel, due_at=at
        ),
        source=SOURCE,
        subject=str(follow_up.id),
    )


def feedback_received(
    feedback: FamilyFeedback, officer_id: str, referrals: Sequence[Referral]
) -> CloudEvent[FamilyFeedbackReceived]:
    """The answer's code and the case's referrals (no comment: it stays sealed here)."""
    still_open = [r for r in referrals if r.status not in FINAL_STATUSES]
    return new_event(
        FAMILY_FEEDBACK_RECEIVED,
        FamilyFeedbackReceived(
            case_id=feedback.case_id,
            officer_id=officer_id,
            answer=feedback.answer,
            via=feedback.via.value,
            referral_ids=tuple(r.id for r in referrals),
            open_referral_ids=tuple(r.id for r in still_open),
            open_reference=still_open[0].reference if still_open else None,
            answered_at=feedback.at,
        ),
        source=SOURCE,
        subject=str(feedback.case_id),
    )
