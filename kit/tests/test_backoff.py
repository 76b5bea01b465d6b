"""The one backoff rule: doubling from the first wait, capped, jitter within its share."""

import random

import pytest

from bridges_kit.backoff import Backoff


def test_waits_double_from_the_first_until_the_cap():
    assert [Backoff(0.5, 30).delay(n) for n in range(1, 9)] == [
        0.5, 1, 2, 4, 8, 16, 30, 30
    ]  # fmt: skip


def test_delays_run_the_same_sequence_without_end_and_start_over_when_asked_again():
    backoff = Backoff(0.2, 5.0)
    waits = backoff.delays()
    taken = [next(waits) for _ in range(8)]
    assert taken == [backoff.delay(n) for n in range(1, 9)]
    assert taken[-1] == 5.0
    assert next(backoff.delays()) == 0.2


def test_a_huge_attempt_number_is_the_cap_not_an_overflow():
    assert Backoff(1, 60).delay(10_000) == 60


def test_attempt_zero_or_less_waits_the_first_delay():
    assert Backoff(1, 60).delay(0) == 1


def test_jitter_stays_within_its_share_and_varies():
    backoff = Backoff(10, 100, jitter=0.2)
    rng = random.Random(7)
    drawn = [backoff.delay(1, rng) for _ in range(200)]
    assert all(8 <= d <= 12 for d in drawn)
    assert len(set(drawn)) > 100


@pytest.mark.parametrize(
    ("first_s", "cap_s", "factor", "jitter"),
    [(0, 1, 2, 0), (2, 1, 2, 0), (1, 2, 0.5, 0), (1, 2, 2, 1)],
)
def test_a_backoff_that_could_not_back_off_is_refused(first_s, cap_s, factor, jitter):
    with pytest.raises(ValueError, match="a backoff needs"):
        Backoff(first_s, cap_s, factor, jitter)
