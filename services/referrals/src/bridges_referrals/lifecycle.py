"""The referral state machine (FHIR R4 Task statuses): which moves exist and who may make them.

Pure: no I/O, no framework. Every status change in Bridges goes through `check_transition`.

    requested ──► received ──► accepted ──► in-progress ──► completed
        │            │            │              │
        │            └─► rejected └─► on-hold ◄──┘ (and back)   any non-final ──► cancelled
        └───────────────────────────────────────────────────► failed
"""

from __future__ import annotations

from dataclasses import dataclass

from bridges_schema import FINAL_STATUSES, ReasonCode, ReferralStatus, Role

S = ReferralStatus

# Moves the receiving agency's staff may make. An agency may accept or decline straight from
# `requested` (answering implies it has received the referral).
AGENCY_MOVES: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.REQUESTED: frozenset({S.RECEIVED, S.ACCEPTED, S.REJECTED, S.FAILED}),
    S.RECEIVED: frozenset({S.ACCEPTED, S.REJECTED, S.FAILED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED, S.FAILED}),
    S.ON_HOLD: frozenset({S.ACCEPTED, S.IN_PROGRESS, S.FAILED}),
}
# The filing officer may only cancel a referral that is still open.
OFFICER_MOVES: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    status: frozenset({S.CANCELLED}) for status in S if status not in FINAL_STATUSES
}
# An admin may make any legal move: the union of the above.
LEGAL_MOVES: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    status: AGENCY_MOVES.get(status, frozenset()) | OFFICER_MOVES.get(status, frozenset())
    for status in S
}
REASON_REQUIRED: frozenset[ReferralStatus] = frozenset({S.REJECTED, S.FAILED, S.CANCELLED})
# Waiting for the agency's answer (the response target applies), and the moves that answer it.
AWAITING_RESPONSE: frozenset[ReferralStatus] = frozenset({S.REQUESTED, S.RECEIVED})
RESPONSES: frozenset[ReferralStatus] = frozenset({S.ACCEPTED, S.REJECTED, S.FAILED})


class TransitionError(Exception):
    """Base of the lifecycle's refusals."""


class IllegalTransition(TransitionError):
    """The move does not exist in the lifecycle (or the referral is closed)."""


class TransitionNotPermitted(TransitionError):
    """The move exists, but not for this caller's role."""


class ReasonRequired(TransitionError):
    """Rejecting, failing and cancelling need a reason code."""


@dataclass(frozen=True)
class Actor:
    role: Role
    is_receiving_agency: bool = False
    is_filing_officer: bool = False


def allowed_moves(current: ReferralStatus, actor: Actor) -> frozenset[ReferralStatus]:
    """Statuses `actor` may move a referral in `current` to."""
    if actor.role is Role.ADMIN:
        return LEGAL_MOVES[current]
    if actor.role is Role.AGENCY_STAFF and actor.is_receiving_agency:
        return AGENCY_MOVES.get(current, frozenset())
    if actor.role is Role.OFFICER and actor.is_filing_officer:
        return OFFICER_MOVES.get(current, frozenset())
    return frozenset()


def check_transition(
    current: ReferralStatus,
    to: ReferralStatus,
    actor: Actor,
    reason: ReasonCode | None = None,
) -> None:
    """Raise unless `actor` may move a referral from `current` to `to` (with `reason`)."""
    if current in FINAL_STATUSES:
        raise IllegalTransition(f"the referral is {current.value}, which is final")
    if to not in LEGAL_MOVES[current]:
        raise IllegalTransition(f"a referral cannot go from {current.value} to {to.value}")
    if to not in allowed_moves(current, actor):
        raise TransitionNotPermitted(
            f"{actor.role.value} may not move this referral from {current.value} to {to.value}"
        )
    if to in REASON_REQUIRED and reason is None:
        raise ReasonRequired(f"moving to {to.value} needs a reason code")
