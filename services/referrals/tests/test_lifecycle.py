"""The referral state machine: who may move a referral where (pure, no I/O), checked against
the design's diagram transcribed here by hand (an oracle independent of `lifecycle`'s tables)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_referrals.lifecycle import (
    Actor,
    IllegalTransition,
    ReasonRequired,
    TransitionError,
    TransitionNotPermitted,
    allowed_moves,
    check_transition,
)
from bridges_schema import FINAL_STATUSES, ReasonCode, ReferralStatus, Role

S = ReferralStatus
AGENCY = Actor(Role.AGENCY_STAFF, is_receiving_agency=True)
OTHER_AGENCY = Actor(Role.AGENCY_STAFF, is_receiving_agency=False)
OFFICER = Actor(Role.OFFICER, is_filing_officer=True)
ADMIN = Actor(Role.ADMIN)
ACTORS = [AGENCY, OTHER_AGENCY, OFFICER, Actor(Role.OFFICER), ADMIN, Actor(Role.OPS)]


def test_agency_accepts_a_new_referral():
    check_transition(S.REQUESTED, S.ACCEPTED, AGENCY)


def test_officer_may_only_cancel_with_a_reason():
    check_transition(S.ACCEPTED, S.CANCELLED, OFFICER, ReasonCode.NEED_RESOLVED)
    with pytest.raises(ReasonRequired):
        check_transition(S.ACCEPTED, S.CANCELLED, OFFICER)
    with pytest.raises(TransitionNotPermitted):
        check_transition(S.REQUESTED, S.ACCEPTED, OFFICER)


def test_another_agency_may_not_touch_the_referral():
    with pytest.raises(TransitionNotPermitted):
        check_transition(S.REQUESTED, S.ACCEPTED, OTHER_AGENCY)


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_final_statuses_are_final(final):
    for to in S:
        with pytest.raises(IllegalTransition):
            check_transition(final, to, ADMIN, ReasonCode.OTHER)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(S)),
            st.sampled_from(ACTORS),
            st.none() | st.sampled_from(list(ReasonCode)),
        ),
        max_size=30,
    )
)
def test_no_sequence_of_calls_reaches_an_illegal_state(calls):
    status = S.REQUESTED
    for to, actor, reason in calls:
        before = status
        try:
            check_transition(status, to, actor, reason)
        except TransitionError:
            assert status == before  # a refused move changes nothing
            continue
        assert to in allowed_moves(before, actor)
        assert before not in FINAL_STATUSES
        status = to


# -- the design's diagram, transcribed by hand -------------------------------------------------
#
#   requested ──► received ──► accepted ──► in-progress ──► completed
#       │            │            │              │
#       │            └─► rejected └─► on-hold ◄──┘ (and back)    any non-final ──► cancelled
#       └─────────────────────────────────────────────────────► failed (agency: could not serve)
#
# Its arrows, one by one (the names as the design writes them):
DRAWN = {
    ("requested", "received"),
    ("received", "accepted"),
    ("accepted", "in-progress"),
    ("in-progress", "completed"),
    ("received", "rejected"),
    ("accepted", "on-hold"),
    ("in-progress", "on-hold"),
    ("on-hold", "accepted"),  # "and back"
    ("on-hold", "in-progress"),
    ("requested", "failed"),
}
FINAL = {"completed", "rejected", "cancelled", "failed"}
OPEN = {"requested", "received", "accepted", "in-progress", "on-hold"}
# What the design's words add to the arrows:
# - `received` is optional: an agency may answer straight from `requested`;
# - `failed`'s arrow runs under every open status (could not serve or reach, at any point);
# - any non-final status may be cancelled, by the officer (or an admin);
# - and the one move Bridges adds beyond the design: a one-visit service is completed straight
#   from `accepted`.
AGENCY_ARROWS = (
    {(a, b) for a, b in DRAWN}
    | {("requested", b) for a, b in DRAWN if a == "received"}
    | {(a, "failed") for a in OPEN}
    | {("accepted", "completed")}
)
OFFICER_ARROWS = {(a, "cancelled") for a in OPEN}
NEEDS_A_REASON = {
    "rejected",
    "failed",
    "cancelled",
}  # "a reason code (for rejected/failed/cancelled)"


def _expected(before: str, after: str, actor: Actor) -> type[TransitionError] | None:
    if (before, after) not in AGENCY_ARROWS | OFFICER_ARROWS:
        return IllegalTransition
    if actor.role is Role.ADMIN:
        return None
    if actor.role is Role.AGENCY_STAFF and actor.is_receiving_agency:
        return None if (before, after) in AGENCY_ARROWS else TransitionNotPermitted
    if actor.role is Role.OFFICER and actor.is_filing_officer:
        return None if (before, after) in OFFICER_ARROWS else TransitionNotPermitted
    return TransitionNotPermitted


def test_the_transcription_names_every_status_once():
    assert {s.value for s in S} == OPEN | FINAL and not OPEN & FINAL
    assert {s.value for s in FINAL_STATUSES} == FINAL


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: f"{a.role.value}-{a}")
@pytest.mark.parametrize("before", [s.value for s in S])
def test_every_move_is_what_the_design_draws_for_every_caller(before, actor):
    for after in [s.value for s in S]:
        expected = _expected(before, after, actor)
        reason = ReasonCode.OTHER if after in NEEDS_A_REASON else None
        if expected is None:
            check_transition(S(before), S(after), actor, reason)
            assert S(after) in allowed_moves(S(before), actor)
            if after in NEEDS_A_REASON:
                with pytest.raises(ReasonRequired):
                    check_transition(S(before), S(after), actor)
        else:
            with pytest.raises(expected):
                check_transition(S(before), S(after), actor, reason)
            assert S(after) not in allowed_moves(S(before), actor)
