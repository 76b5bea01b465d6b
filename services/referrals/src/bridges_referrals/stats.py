"""Transparency statistics: what the public may know, aggregated so no family can be singled out.

Which figures are published, and how, is `disclosure`'s business: small counts are hidden, and
so are the figures they could be worked out from. Only anonymous columns are read (needs,
program type, month, statuses, times, and the families' answers to "did you get help?" — never
their comments).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bridges_referrals import disclosure
from bridges_schema import FamilyAnswer

# One row per referral. An agency is named as the directory names it (an organization is public).
# "Due" is a referral answered, or whose time to answer ran out; "in time" answered by then.
_REFERRALS = """
    SELECT r.id, to_char(date_trunc('month', r.created_at), 'YYYY-MM') AS month,
           coalesce(split_part(p.taxonomy_codes[1], '.', 1), 'unknown') AS program_type,
           coalesce(p.organization_name, 'unknown') AS agency,
           r.status,
           (r.first_response_at IS NOT NULL OR r.respond_by < now()) AS due,
           coalesce(r.first_response_at <= r.respond_by, false) AS in_time,
           extract(epoch FROM r.first_response_at - r.created_at) / 3600 AS hours_to_response,
           CASE WHEN r.status IN ('completed', 'failed', 'rejected', 'cancelled')
                THEN extract(epoch FROM r.closed_at - r.created_at) / 3600 END AS hours_to_outcome
    FROM referral r
    LEFT JOIN program p ON p.service_id = r.program_id"""

# One row per referral and need category: a referral counts once in each category it needs
# ("food.pantry" and "food.meals" are one), so a median weighs every referral alike.
_FACTS = f"""
    SELECT f.*, n.need
    FROM ({_REFERRALS}) f
    JOIN (SELECT DISTINCT r.id, split_part(need.code, '.', 1) AS need
          FROM referral r
          JOIN referral_case c ON c.id = r.case_id
          CROSS JOIN LATERAL unnest(c.need_codes) AS need(code)) n USING (id)"""

# Each breakdown: the rows it is computed from, and whether it partitions the referrals (each
# referral in exactly one cell, so the cells add up to the overall figures).
_GROUPS = {
    "month": (_REFERRALS, True),
    "need": (_FACTS, False),
    "program_type": (_REFERRALS, True),
    "agency": (_REFERRALS, True),
}

# Outcomes: every referral by its status now, and the declined ones by the reason given.
_BY_STATUS = "SELECT status AS key, count(*) AS n FROM referral GROUP BY status ORDER BY status"
_DECLINED_BY_REASON = """
    SELECT coalesce(h.reason_code, 'none') AS key, count(*) AS n
    FROM referral r
    JOIN LATERAL (SELECT reason_code FROM referral_history
                  WHERE referral_id = r.id AND to_status = 'rejected'
                  ORDER BY version DESC LIMIT 1) h ON true
    WHERE r.status = 'rejected'
    GROUP BY 1 ORDER BY 1"""

_AGGREGATES = """count(DISTINCT id) AS referrals,
    count(DISTINCT id) FILTER (WHERE status = 'completed') AS completed,
    count(DISTINCT id) FILTER (WHERE hours_to_outcome IS NOT NULL) AS closed,
    count(DISTINCT id) FILTER (WHERE hours_to_response IS NOT NULL) AS responded,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_response) AS median_response,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_outcome) AS median_outcome,
    count(DISTINCT id) FILTER (WHERE due) AS due,
    count(DISTINCT id) FILTER (WHERE in_time) AS in_time"""


# One row per family that answered (its case): the agencies' "completed" is not the family's
# experience, so what families say is published beside it.
_FAMILY_ANSWERS = "SELECT answer, count(*) AS families FROM family_feedback GROUP BY answer"


def _cell(row: asyncpg.Record) -> disclosure.Cell:
    return disclosure.Cell(
        referrals=row["referrals"],
        completed=row["completed"],
        closed=row["closed"],
        responded=row["responded"],
        median_hours_to_first_response=row["median_response"],
        median_hours_to_outcome=row["median_outcome"],
        due=row["due"],
        in_time=row["in_time"],
    )


def _counted(n: int) -> disclosure.Cell:
    """A cell that is only a count (an outcome, a reason)."""
    return disclosure.Cell(n, 0, 0, 0, None, None)


async def _outcomes(conn: asyncpg.Connection, overall: disclosure.Cell) -> dict[str, Any]:
    """How referrals ended up: by status now, and the declined ones by reason. The reasons add
    up to the declined count, so they are published only when that count is (exactly)."""
    statuses = {row["key"]: _counted(row["n"]) for row in await conn.fetch(_BY_STATUS)}
    by_status = disclosure.publish_breakdown(statuses, overall, partition=True)
    declined = by_status["rejected"]["referrals"] if "rejected" in by_status else None
    reasons: dict[str, disclosure.Figures] = {}
    if isinstance(declined, int) and declined:
        rows = await conn.fetch(_DECLINED_BY_REASON)
        reasons = disclosure.publish_breakdown(
            {row["key"]: _counted(row["n"]) for row in rows}, _counted(declined), partition=True
        )
    return {
        "by_status": [{"status": key, "referrals": f["referrals"]} for key, f in by_status.items()],
        "declined_by_reason": [
            {"reason": key, "referrals": f["referrals"]} for key, f in reasons.items()
        ],
    }


async def compute(conn: asyncpg.Connection) -> dict[str, Any]:
    overall = _cell(
        await conn.fetchrow(f"WITH facts AS ({_REFERRALS}) SELECT {_AGGREGATES} FROM facts")
    )
    result: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "suppression": disclosure.RULES,
        "overall": disclosure.publish(overall),
    }
    for name, (facts, partition) in _GROUPS.items():
        rows = await conn.fetch(
            f"WITH facts AS ({facts}) SELECT {name} AS key, {_AGGREGATES} "
            f"FROM facts GROUP BY {name} ORDER BY {name}"
        )
        published = disclosure.publish_breakdown(
            {row["key"]: _cell(row) for row in rows}, overall, partition=partition
        )
        result[f"by_{name}"] = [{name: key, **figures} for key, figures in published.items()]
    result["outcomes"] = await _outcomes(conn, overall)
    answers = {row["answer"]: row["families"] for row in await conn.fetch(_FAMILY_ANSWERS)}
    families, by_answer = disclosure.publish_counts(
        {answer.value: answers.get(answer.value, 0) for answer in FamilyAnswer}
    )
    result["family_reported"] = {
        "families": families,
        "by_answer": [{"answer": a, "families": n} for a, n in by_answer.items()],
    }
    return result


def as_csv(stats: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [
        "referrals",
        "completed",
        "completed_share",
        "median_hours_to_first_response",
        "median_hours_to_outcome",
        "closed_loop_share",
        "answered_in_time_share",
    ]
    writer.writerow(["dimension", "key", *columns, "families"])
    writer.writerow(["overall", "all", *(stats["overall"][c] for c in columns)])
    for name in _GROUPS:
        for row in stats[f"by_{name}"]:
            writer.writerow([name, row[name], *(row[c] for c in columns)])
    blank = [""] * (len(columns) - 1)
    for row in stats["outcomes"]["by_status"]:
        writer.writerow(["status", row["status"], row["referrals"], *blank])
    for row in stats["outcomes"]["declined_by_reason"]:
        writer.writerow(["declined_reason", row["reason"], row["referrals"], *blank])
    empty = [""] * len(columns)
    reported = stats["family_reported"]
    writer.writerow(["family_reported", "all", *empty, reported["families"]])
    for row in reported["by_answer"]:
        writer.writerow(["family_reported", row["answer"], *empty, row["families"]])
    return out.getvalue()


class Cached:
    """The public statistics, recomputed at most every `ttl_s` (a public endpoint must not let
    anyone make the database aggregate every referral on each request)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], ttl_s: float = 60.0) -> None:
        self._pool, self.ttl_s = pool, ttl_s
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, Any]:
        async with self._lock:  # one computation at a time; the others wait and reuse it
            if self._value is None or time.monotonic() - self._at > self.ttl_s:
                async with self._pool().acquire() as conn:
                    self._value = await compute(conn)
                self._at = time.monotonic()
            return self._value
