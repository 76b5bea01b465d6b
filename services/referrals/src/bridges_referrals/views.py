"""What the referrals API shows of a referral, built from domain objects (pure): a summary with no
family data (the intake's answer), a list row with what the reader may see at a glance, and the
full view with what the reader may see of the family (see `sharing`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bridges_kit.principal import Principal
from bridges_referrals import family_names, sharing
from bridges_referrals.domain import Case, HistoryEntry, Referral
from bridges_referrals.follow_up import FamilyFeedback, FollowUp, family_language
from bridges_referrals.models import (
    ConsentView,
    FamilyFeedbackView,
    FollowUpView,
    HistoryEntryView,
    ReferralView,
)


def summary(
    referral: Referral, now: datetime, last_change: HistoryEntry | None = None
) -> ReferralView:
    """A referral without any of the family's data."""
    return ReferralView(
        id=referral.id,
        reference=referral.reference,
        case_id=referral.case_id,
        program_id=referral.program_id,
        program_name=referral.program_name,
        agency_id=referral.agency_id,
        officer_id=referral.officer_id,
        status=referral.status,
        urgency=referral.urgency,
        version=referral.version,
        respond_by=referral.respond_by,
        overdue=referral.overdue(now),
        agency_not_reached=referral.agency_not_reached,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        last_change=history_entry(last_change) if last_change else None,
    )


# The fields of a list row that come from the family's data (reading them is audited).
LISTED_FAMILY_FIELDS = ("family_label", "language", "interpreter_needed")


def _at_a_glance(case: Case, shared: sharing.Shared) -> dict[str, object]:
    contact = (shared.client or {}).get("contact") or {}
    officer = case.officer_contact or {}
    return {
        "family_label": family_names.label(shared.client),
        "language": contact.get("preferred_language") if shared.client else None,
        "interpreter_needed": bool(contact.get("interpreter_needed")) if shared.client else None,
        "officer_name": officer.get("name"),
        "needs": list(shared.needs),
    }


def listed(
    referral: Referral,
    case: Case,
    shared: sharing.Shared,
    now: datetime,
    last_change: HistoryEntry | None = None,
    feedback: FamilyFeedback | None = None,
    ask_family: bool = False,
) -> ReferralView:
    """A list row: the summary and, as `shared` allows, who the family is at a glance; in the
    officer's list, the family's answer (without its comment) and whether to ask it."""
    return summary(referral, now, last_change).model_copy(
        update={
            **_at_a_glance(case, shared),
            "family_feedback": family_feedback(feedback, with_comment=False) if feedback else None,
            "ask_family": ask_family,
        }
    )


def family_feedback(feedback: FamilyFeedback, *, with_comment: bool) -> FamilyFeedbackView:
    return FamilyFeedbackView(
        answer=feedback.answer,
        at=feedback.at,
        via=feedback.via,
        comment=feedback.comment if with_comment else None,
    )


def follow_up(planned: FollowUp, case: Case) -> FollowUpView:
    """The follow-up as its officer sees it (the safe hours, while the family's data is kept)."""
    contact = (case.client or {}).get("contact") or {}
    window = planned.window
    return FollowUpView(
        channel=planned.channel,
        chosen=planned.chosen,
        status=planned.status,
        due_at=planned.due_at,
        safe_hours=str(window.hours) if window else None,
        time_zone=window.time_zone if window else None,
        language=family_language(str(contact.get("preferred_language", "en"))),
        reconfirmed=planned.reconfirmed,
        sent_at=planned.sent_at,
        expires_at=planned.expires_at,
    )


def history_entry(entry: HistoryEntry) -> HistoryEntryView:
    return HistoryEntryView(
        from_status=entry.from_status,
        to_status=entry.to_status,
        version=entry.version,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        reason_code=entry.reason_code,
        note=entry.note,
        at=entry.at,
    )


def history(entries: Iterable[HistoryEntry], shared: sharing.Shared) -> list[HistoryEntryView]:
    return [history_entry(e) for e in sharing.visible_history(entries, shared)]


def consent(viewer: Principal, referral: Referral, case: Case) -> ConsentView:
    given = case.consent
    full = sharing.whole_case(viewer, referral)
    return ConsentView(
        scopes=sorted(given.scopes),
        given_by=given.given_by,
        method=given.method,
        given_at=given.given_at,
        text_version=given.text_version,
        withdrawn_at=given.withdrawn_at,
        given_by_name=given.given_by_name if full else None,
        withdrawal_note=given.withdrawal_note if full else None,
    )


def detail(
    viewer: Principal,
    referral: Referral,
    case: Case,
    entries: Iterable[HistoryEntry],
    shared: sharing.Shared,
    now: datetime,
    feedback: FamilyFeedback | None = None,
    planned: FollowUp | None = None,
) -> ReferralView:
    """The full view for `viewer`, who may see `referral`; `shared` is what it may see of
    the family, `feedback` of its answer (`sharing.shared_feedback`); its follow-up and the
    safety mark are its officer's and admins'."""
    full = sharing.whole_case(viewer, referral)
    planned = planned if full else None
    asked = full and feedback is None and planned is not None and planned.officer_asks(now)
    return summary(referral, now).model_copy(
        update={
            **_at_a_glance(case, shared),
            "family_feedback": family_feedback(feedback, with_comment=True) if feedback else None,
            "ask_family": asked,
            "safety_concerns": case.safety_concerns if full else None,
            "follow_up": follow_up(planned, case) if planned is not None else None,
            "consent_withdrawn": not case.consent.active,
            "client": dict(shared.client) if shared.client else None,
            "situation": shared.situation,
            "officer_contact": dict(case.officer_contact) if case.officer_contact else None,
            "consent": consent(viewer, referral, case),
            "history": history(entries, shared),
        }
    )
