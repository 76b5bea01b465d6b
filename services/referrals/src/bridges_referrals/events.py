"""The events the referrals service publishes, built from domain objects (pure). They carry
ids, codes and statuses; need codes only when the family agreed to share its needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
