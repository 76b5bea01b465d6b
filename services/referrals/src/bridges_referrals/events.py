"""The events the referrals service publishes, built from domain objects (pure). They carry
ids, codes and statuses; need codes only when the family agreed to share its needs."""

from __future__ import annotations

from datetime import datetime

from bridges_referrals.domain import Referral
from bridges_schema import (
    REFERRAL_OVERDUE,
    REFERRAL_REQUESTED,
    CloudEvent,
    ReasonCode,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    new_event,
    referral_status_event,
)

SOURCE = "/bridges/referrals"


def requested(referral: Referral, need_codes: tuple[str, ...]) -> CloudEvent[ReferralRequested]:
    return new_event(
        REFERRAL_REQUESTED,
        ReferralRequested(
            referral_id=referral.id,
            case_id=referral.case_id,
            program_id=referral.program_id,
            agency_id=referral.agency_id,
            urgency=referral.urgency,
            need_codes=need_codes,
            officer_id=referral.officer_id,
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
            referral_id=referral.id,
            case_id=referral.case_id,
            program_id=referral.program_id,
            agency_id=referral.agency_id,
            officer_id=referral.officer_id,
            status=referral.status,
            previous_status=previous,
            urgency=referral.urgency,
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
            referral_id=referral.id,
            case_id=referral.case_id,
            program_id=referral.program_id,
            agency_id=referral.agency_id,
            officer_id=referral.officer_id,
            status=referral.status,
            urgency=referral.urgency,
            respond_by=referral.respond_by,
            detected_at=detected_at,
        ),
        source=SOURCE,
        subject=str(referral.id),
    )
