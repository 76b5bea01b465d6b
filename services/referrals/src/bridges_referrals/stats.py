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

# One row per referral.
_REFERRALS = """
    SELECT r.id, to_char(date_trunc('month', r.created_at), 'YYYY-MM') AS month,
           coalesce(split_part(p.taxonomy_codes[1], '.', 1), 'unknown') AS program_type,
           r.status,
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
}

_AGGREGATES = """count(DISTINCT id) AS referrals,
    count(DISTINCT id) FILTER (WHERE status = 'completed') AS completed,
    count(DISTINCT id) FILTER (WHERE hours_to_outcome IS NOT NULL) AS closed,
    count(DISTINCT id) FILTER (WHERE hours_to_response IS NOT NULL) AS responded,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_response) AS median_response,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_outcome) AS median_outcome"""


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
    )


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
    ]
    writer.writerow(["dimension", "key", *columns, "families"])
    writer.writerow(["overall", "all", *(stats["overall"][c] for c in columns)])
    for name in _GROUPS:
        for row in stats[f"by_{name}"]:
            writer.writerow([name, row[name], *(row[c] for c in columns)])
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
        self._pool, self._ttl_s = pool, ttl_s
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, Any]:
        async with self._lock:  # one computation at a time; the others wait and reuse it
            if self._value is None or time.monotonic() - self._at > self._ttl_s:
                async with self._pool().acquire() as conn:
                    self._value = await compute(conn)
                self._at = time.monotonic()
            return self._value
