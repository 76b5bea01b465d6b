"""Disclosure control of the public statistics: nothing hidden can be worked out (pure, no I/O)."""

from __future__ import annotations

import itertools
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from bridges_referrals.disclosure import (
    SMALL,
    SUPPRESSED,
    Cell,
    Figures,
    publish,
    publish_breakdown,
    publish_counts,
)


def cell(
    referrals: int,
    completed: int = 0,
    closed: int | None = None,
    responded: int | None = None,
    hours: float | None = 12.0,
) -> Cell:
    closed = completed if closed is None else closed
    return Cell(
        referrals=referrals,
        completed=completed,
        closed=closed,
        responded=referrals if responded is None else responded,
        median_hours_to_first_response=hours,
        median_hours_to_outcome=hours if closed else None,
    )


def partition(counts: dict[str, int]) -> dict[str, Figures]:
    """A month-like breakdown of referrals (nothing completed), against its own total."""
    cells = {key: cell(n) for key, n in counts.items()}
    return publish_breakdown(cells, cell(sum(counts.values())), partition=True)


def hidden(rows: dict[str, Figures], keys: list[str], column: str = "referrals") -> list[str]:
    """The keys whose count is not published (all of them if the breakdown is left out)."""
    return [key for key in keys if key not in rows or not isinstance(rows[key][column], int)]


def test_a_share_beside_a_small_completed_count_is_withheld():
    # The review's example: "<5" completed beside 0.25 of 8 closed gives back 2.
    figures = publish(cell(8, completed=2, closed=8))
    assert figures["completed"] == SMALL
    assert figures["completed_share"] is None


def test_a_share_that_gives_back_a_small_complement_is_withheld():
    other_closed_small = publish(cell(10, completed=7, closed=10))  # 3 failed or rejected
    still_open_small = publish(cell(12, completed=5, closed=10))  # 2 still open
    assert other_closed_small["completed"] == 7 and other_closed_small["completed_share"] is None
    assert still_open_small["completed"] == 5 and still_open_small["completed_share"] is None
    assert publish(cell(20, completed=10, closed=15))["completed_share"] == 0.667


def test_a_median_over_fewer_than_5_values_is_withheld_whatever_the_referrals():
    few_responses = publish(cell(20, responded=1))
    few_closed = publish(cell(20, completed=0, closed=4))
    assert few_responses["referrals"] == 20
    assert few_responses["median_hours_to_first_response"] is None
    assert few_closed["median_hours_to_outcome"] is None
    enough = publish(cell(20, completed=5, closed=5, responded=5))
    assert enough["median_hours_to_first_response"] == enough["median_hours_to_outcome"] == 12.0


def test_one_small_cell_in_a_breakdown_gets_a_second_cell_suppressed():
    rows = partition({"2024-01": 30, "2024-02": 2, "2024-03": 12})
    assert [rows[k]["referrals"] for k in rows] == [SUPPRESSED, SMALL, 12]
    # 44 - 12 is all one learns: 2024-02 could be anything from 1 to 4
    for key in ("2024-01", "2024-02"):
        assert rows[key]["completed"] == SUPPRESSED
        assert rows[key]["completed_share"] is None
        assert rows[key]["median_hours_to_first_response"] is None


def test_a_small_completed_count_in_a_breakdown_gets_a_second_one_suppressed():
    cells = {
        "food": cell(20, completed=2, closed=20),
        "housing": cell(20, completed=9, closed=20),
        "legal": cell(20, completed=10, closed=20),
    }
    rows = publish_breakdown(cells, cell(60, completed=21, closed=60), partition=True)
    assert [rows[k]["referrals"] for k in rows] == [20, 20, 20]
    assert [rows[k]["completed"] for k in rows] == [SMALL, SUPPRESSED, 10]
    assert rows["housing"]["completed_share"] is None
    assert rows["legal"]["completed_share"] == 0.5


def test_needs_are_protected_too_though_a_referral_counts_in_each_of_its_needs():
    # With one need per family (as here) the needs add up to the overall count.
    needs = {"food": cell(40), "housing": cell(20), "legal": cell(3)}
    rows = publish_breakdown(needs, cell(63), partition=False)
    assert [rows[k]["referrals"] for k in rows] == [SUPPRESSED, 20, SMALL]


def test_a_small_count_that_cannot_be_protected_leaves_the_breakdown_out():
    # Hidden beside it, the 5 is at least 5; 13 - 7 = 6 leaves exactly 1 for "a".
    assert partition({"a": 1, "b": 5, "c": 7}) == {}
    assert partition({"a": 1, "b": 9, "c": 7}) != {}


def test_the_outcome_does_not_depend_on_the_order_of_the_cells():
    counts = {"2024-03": 12, "2024-01": 30, "2024-02": 2, "2024-04": 3}
    forward = partition(counts)
    backward = partition(dict(reversed(counts.items())))
    assert forward == backward and forward["2024-01"]["referrals"] == SUPPRESSED


PARTITIONS = st.lists(st.integers(1, 40), min_size=1, max_size=12).filter(lambda c: sum(c) >= 5)


@given(counts=PARTITIONS, completed_shares=st.lists(st.floats(0, 1), min_size=12, max_size=12))
def test_hidden_cells_of_a_breakdown_never_add_up_to_a_small_count(counts, completed_shares):
    keys = [f"k{i:02d}" for i in range(len(counts))]
    completed = [int(n * share) for n, share in zip(counts, completed_shares, strict=False)]
    cells = {k: cell(n, completed=c) for k, n, c in zip(keys, counts, completed, strict=True)}
    overall = cell(sum(counts), completed=sum(completed))
    rows = publish_breakdown(cells, overall, partition=True)
    for column, values in (("referrals", counts), ("completed", completed)):
        by_key = dict(zip(keys, values, strict=True))
        hidden_keys = hidden(rows, keys, column)
        shown_total = sum(by_key[k] for k in keys if k not in hidden_keys)
        hidden_total = sum(by_key[k] for k in hidden_keys)
        # what total minus the cells shown gives away: the hidden total, never one cell's value
        assert sum(values) - shown_total == hidden_total
        assert len(hidden_keys) != 1 or publish(overall)[column] in (SMALL, SUPPRESSED)
        if hidden_keys and publish(overall)[column] not in (0, SMALL):
            assert hidden_total >= 5, (column, by_key, rows)


def test_no_small_count_can_be_recovered_by_someone_who_knows_these_rules():
    # Every split of up to 16 referrals into 3 cells: whoever sees a publication knows it came
    # from one of the splits that give it; a "<5" cell must take 2 values or more among them.
    splits: dict[tuple[object, ...], list[tuple[int, ...]]] = defaultdict(list)
    for counts in itertools.product(range(1, 17), repeat=3):
        if sum(counts) <= 16:
            rows = partition(dict(zip("abc", counts, strict=True)))
            total = publish(cell(sum(counts)))["referrals"]
            splits[tuple((k, f["referrals"]) for k, f in rows.items()), total].append(counts)
    for (published, _), candidates in splits.items():
        for i, (_, shown) in enumerate(published):
            if shown == SMALL:
                assert len({c[i] for c in candidates}) > 1, (published, candidates)


def test_families_answers_are_hidden_by_the_same_rules():
    total, rows = publish_counts({"got-help": 8, "not-yet": 2, "no-longer-needed": 6})
    assert total == 16
    assert rows == {"got-help": SUPPRESSED, "not-yet": SMALL, "no-longer-needed": 6}
    assert publish_counts({"got-help": 5, "not-yet": 0}) == (5, {"got-help": 5, "not-yet": 0})
    # 6 = 5 + 1: the small one could be worked out from the total: no rows at all
    assert publish_counts({"got-help": 5, "not-yet": 1}) == (6, {})
    assert publish_counts({"got-help": 3}) == (SMALL, {"got-help": SMALL})
