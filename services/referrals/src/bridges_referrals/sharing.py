"""What each reader may see of a family, under the family's consent (pure).

The filing officer and admins see everything the case holds. The receiving agency sees exactly
what the family agreed to share, and nothing once consent is withdrawn or the data is purged:
- `contact`: the client's names, birth date or age and contact preferences;
- `household`: the household members;
- `needs`: the need codes (also in the events and webhooks the agency receives);
- `situation`: the officer's free-text account of the situation, and the notes officers and
  admins wrote in the referral's history (free text may say the same things); and the family's
  answer to its follow-up ("did you get help?"), what the family says of its situation now. Its
  comment, the family's own words to Bridges, is never the agency's.
The officer's own work contact is always shown to the agency: it is how a family without a phone
is reached. Lists show less of the same: under `contact` the family's label (given name and
initial), language and interpreter; under `needs` the needs (see `views.listed`). Every path to the agency (views, history, events, webhooks, email) goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bridges_kit.principal import Principal
from bridges_referrals.domain import Case, Consent, ConsentScope, HistoryEntry, Referral
from bridges_referrals.follow_up import FamilyFeedback
from bridges_schema import Role

_AGENCY_WRITERS = frozenset({Role.AGENCY_STAFF.value})


@dataclass(frozen=True)
class Shared:
    """The personal data one reader may see of one case."""

    client: Mapping[str, Any] | None = None
    needs: tuple[str, ...] = ()
    situation: str | None = None
    officer_notes: bool = False  # notes written by officers and admins

    @property
    def personal(self) -> bool:
        """Whether this shows personal data (reading it is audited)."""
        return bool(self.client) or self.situation is not None or self.officer_notes


def agency_scopes(consent: Consent) -> frozenset[ConsentScope]:
    """What the receiving agency may see now: nothing once consent is withdrawn."""
    return consent.scopes if consent.active else frozenset()


def shared_needs(consent: Consent, need_codes: Iterable[str]) -> tuple[str, ...]:
    """The need codes an event to the agency may carry."""
    return tuple(need_codes) if ConsentScope.NEEDS in agency_scopes(consent) else ()


def whole_case(viewer: Principal, referral: Referral) -> bool:
    """The filing officer and admins see everything the case holds."""
    return viewer.role is Role.ADMIN or (
        viewer.role is Role.OFFICER and viewer.sub == referral.officer_id
    )


def _receiving(viewer: Principal, referral: Referral) -> bool:
    return viewer.role is Role.AGENCY_STAFF and viewer.agency_id == referral.agency_id


def shows_client(viewer: Principal, referral: Referral, case: Case) -> bool:
    """Whether `viewer` may see the client's names and contact (so they are worth opening). A
    name search by an agency (`queries`) applies the same rule in SQL: `contact` shared and
    consent not withdrawn."""
    if whole_case(viewer, referral):
        return True
    return _receiving(viewer, referral) and ConsentScope.CONTACT in agency_scopes(case.consent)


def shared_with(viewer: Principal, referral: Referral, case: Case) -> Shared:
    """What `viewer` (who may see `referral`, see `domain.may_see`) may see of its case."""
    if whole_case(viewer, referral):
        return Shared(case.client, case.need_codes, case.situation, officer_notes=True)
    if not _receiving(viewer, referral):
        return Shared()
    scopes = agency_scopes(case.consent)
    client: dict[str, Any] | None = None
    if case.client is not None and shows_client(viewer, referral, case):
        client = {k: v for k, v in case.client.items() if k != "household"}
        if ConsentScope.HOUSEHOLD in scopes:
            client["household"] = list(case.client.get("household", []))
    situation_shared = ConsentScope.SITUATION in scopes and case.purged_at is None
    return Shared(
        client=client,
        needs=shared_needs(case.consent, case.need_codes),
        situation=case.situation if situation_shared else None,
        officer_notes=situation_shared,
    )


def visible_history(entries: Iterable[HistoryEntry], shared: Shared) -> list[HistoryEntry]:
    """The history with the notes this reader may not see taken out (the moves stay)."""
    return [
        e
        if e.note is None or shared.officer_notes or e.actor_role in _AGENCY_WRITERS
        else replace(e, note=None)
        for e in entries
    ]


def shared_feedback(
    viewer: Principal, referral: Referral, case: Case, feedback: FamilyFeedback | None
) -> FamilyFeedback | None:
    """The family's answer as `viewer` may see it: whole for the filing officer and admins;
    without its comment for the receiving agency, and only under the `situation` scope."""
    if feedback is None:
        return None
    if whole_case(viewer, referral):
        return feedback
    if not _receiving(viewer, referral) or ConsentScope.SITUATION not in agency_scopes(
        case.consent
    ):
        return None
    return replace(feedback, comment=None, recorded_by=None)
