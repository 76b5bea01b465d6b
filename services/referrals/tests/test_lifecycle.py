"""The referral state machine: who may move a referral where (pure, no I/O)."""

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
