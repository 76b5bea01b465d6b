"""Disclosure control for the public statistics: which raw figures may be published, and how."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypedDict

THRESHOLD = 5
SMALL = f"<{THRESHOLD}"  # a count from 1 to 4 (primary suppression)
SUPPRESSED = "suppressed"  # hidden so that no small count can be worked out from the others

RULES = (
    f"counts from 1 to {THRESHOLD - 1} are shown as {SMALL!r}. In a breakdown with a hidden "
    f"count, one more (the first by key that is not 0) is shown as {SUPPRESSED!r}, so that the "
    f"hidden counts add up to at least {THRESHOLD}; a breakdown in which a hidden count could "
    f"still be worked out from the overall figures and the counts shown is left out. The same "
    f"applies to completed counts; a row whose referrals are hidden shows its completed count "
    f"as {SUPPRESSED!r} and no share or medians. A completed share is shown only if the "
    f"completed, the otherwise closed and the still open referrals each number 0 or at least "
    f"{THRESHOLD}; a median only if taken over at least {THRESHOLD} referrals. The same holds "
    f"for the closed-loop share (referrals that reached an outcome) and the share answered in "
    f"time (of the referrals due an answer): each part 0 or at least {THRESHOLD}. Families' "
    f"answers to their follow-up are counted one per family, and hidden by the same rules."
)

Count: TypeAlias = int | str


@dataclass(frozen=True)
class Cell:
    """The raw figures of one cell: every referral of one month, need, program type, or all."""

    referrals: int
    completed: int
    closed: int  # reached a final status: completed, failed, rejected or cancelled
    responded: int  # had a first response from the agency
    median_hours_to_first_response: float | None  # over the `responded` referrals
    median_hours_to_outcome: float | None  # over the `closed` referrals
    due: int = 0  # answered, or past the time to answer (their clock has run out)
    in_time: int = 0  # of those, answered within the time to answer


class Figures(TypedDict):
    """One published row."""

    referrals: Count
    completed: Count
    completed_share: float | None
    median_hours_to_first_response: float | None
    median_hours_to_outcome: float | None
    closed_loop_share: float | None  # reached an outcome the officer was told of
    answered_in_time_share: float | None  # of those due, answered within the time to answer


@dataclass(frozen=True)
class Bound:
    """What an outsider can know of a hidden count: lo <= count <= hi (hi None: no upper limit)."""

    lo: int
    hi: int | None


def publish(cell: Cell) -> Figures:
    """A cell standing alone (the overall figures): primary suppression only."""
    if _small(cell.referrals):
        return _withheld(SMALL)
    return _shown(cell, completed=SMALL if _small(cell.completed) else cell.completed)


def publish_breakdown(
    cells: Mapping[str, Cell], overall: Cell, *, partition: bool
) -> dict[str, Figures]:
    """The rows of a breakdown, keyed like `cells`, with complementary suppression.

    `partition`: every referral is in exactly one cell (month, program type), so the cells add
    up to the overall figures. Otherwise (needs: a referral counts once in each of its needs) the
    cells add up to at least the overall figures: with mostly one need per family, "overall minus
    the needs shown" still nearly gives a hidden need, so the same protection applies.

    Returns {} when the rows cannot be published without a hidden count being computable from
    the others (only with a handful of referrals, or a small count beside a count of exactly 5).
    """
    published = publish(overall)
    referrals_total = _bound(published["referrals"], Bound(0, None))
    referrals = _Column(
        {key: cell.referrals for key, cell in cells.items()},
        {key: _PRIMARY for key, cell in cells.items() if _small(cell.referrals)},
        caps=dict.fromkeys(cells, referrals_total.hi),  # no need has more than all referrals
        total=_as_sum(referrals_total, partition),
    )
    hidden_rows = referrals.audit()
    if hidden_rows is None:
        return {}
    completed_total = _bound(published["completed"], Bound(0, referrals_total.hi))
    completed = _Column(
        {key: cell.completed for key, cell in cells.items()},
        {  # a hidden row's completed count is hidden too, 0 included: it is 0 to its referrals
            **{key: Bound(0, bound.hi) for key, bound in hidden_rows.items()},
            **{
                key: _PRIMARY
                for key, cell in cells.items()
                if key not in hidden_rows and _small(cell.completed)
            },
        },
        caps={key: cell.referrals for key, cell in cells.items()},
        total=_as_sum(completed_total, partition),
        # and the hidden rows' completed counts add up to at most their referrals
        pool=_Pool({key: bound.lo for key, bound in hidden_rows.items()}, referrals.hidden_sum.hi),
    )
    hidden_completed = completed.audit()
    if hidden_completed is None:
        return {}
    # A row has at least as many referrals as completed ones: what can be known of the one
    # narrows the other.
    if referrals.audit(floors={key: hidden_completed[key].lo for key in hidden_rows}) is None:
        return {}
    rows: dict[str, Figures] = {}
    for key, cell in cells.items():
        if key in hidden_rows:
            rows[key] = _withheld(SMALL if _small(cell.referrals) else SUPPRESSED)
        elif key in hidden_completed:
            rows[key] = _shown(cell, completed=SMALL if _small(cell.completed) else SUPPRESSED)
        else:
            rows[key] = _shown(cell, completed=cell.completed)
    return rows


def publish_counts(counts: Mapping[str, int]) -> tuple[Count, dict[str, Count]]:
    """A count and its split by key (families by their answer: each in one), protected as a
    breakdown of referrals is: the total, and the rows ({} when they cannot be published)."""

    def alone(n: int) -> Cell:
        return Cell(
            n,
            completed=0,
            closed=0,
            responded=0,
            median_hours_to_first_response=None,
            median_hours_to_outcome=None,
        )

    total = alone(sum(counts.values()))
    rows = publish_breakdown({k: alone(n) for k, n in counts.items()}, total, partition=True)
    return publish(total)["referrals"], {key: row["referrals"] for key, row in rows.items()}


_PRIMARY = Bound(1, THRESHOLD - 1)


def _small(count: int) -> bool:
    return 0 < count < THRESHOLD


def _withheld(referrals: Count) -> Figures:
    return {
        "referrals": referrals,
        "completed": SUPPRESSED,
        "completed_share": None,
        "median_hours_to_first_response": None,
        "median_hours_to_outcome": None,
        "closed_loop_share": None,
        "answered_in_time_share": None,
    }


def _shown(cell: Cell, completed: Count) -> Figures:
    return {
        "referrals": cell.referrals,
        "completed": completed,
        "completed_share": _share(cell) if isinstance(completed, int) else None,
        "median_hours_to_first_response": _median(
            cell.median_hours_to_first_response, cell.responded
        ),
        "median_hours_to_outcome": _median(cell.median_hours_to_outcome, cell.closed),
        "closed_loop_share": _split_share(cell.closed, cell.referrals),
        "answered_in_time_share": _split_share(cell.in_time, cell.due),
    }


def _split_share(part: int, whole: int) -> float | None:
    """part / whole, shown only if the part and the rest each number 0 or at least THRESHOLD
    (the share and a count published beside it would give both back)."""
    if whole < THRESHOLD or _small(part) or _small(whole - part):
        return None
    return round(part / whole, 3)


def _share(cell: Cell) -> float | None:
    # completed / closed, with the referral count beside it, gives back `closed` (few fractions
    # round alike), hence every count that splits the row: the completed, the other closed ones
    # and the still open ones. Each must be 0 or at least THRESHOLD.
    parts = (cell.completed, cell.closed - cell.completed, cell.referrals - cell.closed)
    if cell.closed < THRESHOLD or any(_small(part) for part in parts):
        return None
    return round(cell.completed / cell.closed, 3)


def _median(hours: float | None, over: int) -> float | None:
    # A median of fewer than THRESHOLD values is close to one family's own figure.
    return None if hours is None or over < THRESHOLD else round(float(hours), 1)


def _bound(published: Count, unknown: Bound) -> Bound:
    """What a published figure tells of the count behind it."""
    if isinstance(published, int):
        return Bound(published, published)
    return _PRIMARY if published == SMALL else unknown


def _as_sum(total: Bound, partition: bool) -> Bound:
    """What the cells of a breakdown add up to, given the overall count."""
    return total if partition else Bound(total.lo, None)


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _sum_hi(bounds: Iterable[Bound]) -> int | None:
    his = [bound.hi for bound in bounds]
    return None if None in his else sum(hi or 0 for hi in his)


@dataclass(frozen=True)
class _Pool:
    """Hidden counts that add up to at most `hi`: a hidden row's completed count is at most its
    referrals, so together at most the hidden referrals. `floors`: each row's least referrals."""

    floors: Mapping[str, int]
    hi: int | None


class _Column:
    """One column of a breakdown (referrals or completed) as an outsider sees it.

    `hidden` maps each count hidden so far to what the outsider knows of it; `caps` bounds each
    count; `total` bounds the column's sum. One complement is added: the first count shown (by
    key) that is not 0. So it is at least THRESHOLD (else it would be SMALL), the hidden counts
    add up to at least THRESHOLD, and which one and how many depend only on what is published.
    (Choosing the smallest would tell that it is at most the smallest shown: with two 5s shown,
    exactly 5, and the small count beside it is then total minus the rest. Hiding "until they
    add up to 5" would tell, by the number hidden, that the small ones add up to less.)
    """

    def __init__(
        self,
        counts: Mapping[str, int],
        hidden: Mapping[str, Bound],
        caps: Mapping[str, int | None],
        total: Bound,
        pool: _Pool | None = None,
    ) -> None:
        self.counts, self.caps, self.total, self.pool = counts, caps, total, pool
        self.known = dict(hidden)
        shown = sorted(
            (key for key, n in counts.items() if key not in hidden and n > 0),
            key=lambda key: (self._pinned_if_hidden(key), key),
        )
        self.complement = shown[0] if hidden and shown else None
        if self.complement is not None:
            self.known[self.complement] = Bound(THRESHOLD, caps[self.complement])

    def _pinned_if_hidden(self, key: str) -> bool:
        # at least THRESHOLD and at most its cap: a count capped at THRESHOLD (5 completed of 5
        # referrals) would be known exactly, so another is taken first if there is one
        cap = self.caps[key]
        return cap is not None and cap <= THRESHOLD

    @property
    def hidden_sum(self) -> Bound:
        """What the hidden counts add up to, as the outsider knows it."""
        shown = sum(n for key, n in self.counts.items() if key not in self.known)
        hi = None if self.total.hi is None else self.total.hi - shown
        return Bound(self.total.lo - shown, hi)

    def audit(self, floors: Mapping[str, int] | None = None) -> dict[str, Bound] | None:
        """What the outsider can deduce of each hidden count (knowing also that some are at
        least `floors`), or None if that gives away a hidden count other than the complement,
        or the sum of those when under THRESHOLD."""
        if self.total.hi == 0:  # a total published as 0 already tells every count is 0
            return {key: Bound(0, 0) for key in self.known}
        known = {
            key: Bound(max(bound.lo, (floors or {}).get(key, 0)), bound.hi)
            for key, bound in self.known.items()
        }
        deduced = self._deduce(known)
        exact = {key for key, bound in deduced.items() if bound.lo == bound.hi}
        rest = sum(n for key, n in self.counts.items() if key in self.known) - (
            self.counts[self.complement] if self.complement is not None else 0
        )
        # The complement worked out is no harm in itself (it is not small), but with an exact
        # total it gives away the sum of the counts it was to hide.
        rest_known = self.complement in exact and self.total.lo == self.total.hi
        if exact - {self.complement} or (rest_known and rest < THRESHOLD):
            return None
        return deduced

    def _deduce(self, known: Mapping[str, Bound]) -> dict[str, Bound]:
        """Narrow each hidden count: the hidden counts add up to `hidden_sum`, and the pooled
        ones to at most the pool's `hi`."""
        total, pooled = self.hidden_sum, self.pool.floors if self.pool else {}
        deduced: dict[str, Bound] = {}
        for key, bound in known.items():
            free = [b for k, b in known.items() if k != key and k not in pooled]
            in_pool = [b for k, b in known.items() if k != key and k in pooled]
            pool_hi = _sum_hi(in_pool)
            if self.pool is not None and self.pool.hi is not None:
                pool_hi = _least(pool_hi, self.pool.hi - pooled.get(key, 0))
            free_hi = _sum_hi(free)
            others_lo = sum(b.lo for b in free) + sum(b.lo for b in in_pool)
            others_hi = None if free_hi is None or pool_hi is None else free_hi + pool_hi
            hi = bound.hi if total.hi is None else _least(bound.hi, total.hi - others_lo)
            lo = bound.lo if others_hi is None else max(bound.lo, total.lo - others_hi)
            deduced[key] = Bound(lo, hi)
        return deduced
