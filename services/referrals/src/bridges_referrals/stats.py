"""Transparency statistics: what the public may know, aggregated so no family can be singled out.

Counts from 1 to 4 are shown as "<5", and medians or shares resting on fewer than 5 referrals
are withheld. Only anonymous columns are read (needs, program type, month, statuses, times).
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

THRESHOLD = 5
SUPPRESSED = f"<{THRESHOLD}"

# One row per referral and need category (a referral counts once in each of its needs).
_FACTS = """
    SELECT r.id, to_char(date_trunc('month', r.created_at), 'YYYY-MM') AS month,
           split_part(need.code, '.', 1) AS need,
           coalesce(split_part(p.taxonomy_codes[1], '.', 1), 'unknown') AS program_type,
           r.status,
           extract(epoch FROM r.first_response_at - r.created_at) / 3600 AS hours_to_response,
           CASE WHEN r.status IN ('completed', 'failed', 'rejected', 'cancelled')
                THEN extract(epoch FROM r.closed_at - r.created_at) / 3600 END AS hours_to_outcome
    FROM referral r
    JOIN referral_case c ON c.id = r.case_id
    CROSS JOIN LATERAL unnest(c.need_codes) AS need(code)
    LEFT JOIN program p ON p.service_id = r.program_id"""

_GROUPS = {"month": "month", "need": "need", "program_type": "program_type"}


def _count(n: int) -> int | str:
    return SUPPRESSED if 0 < n < THRESHOLD else n


def _figures(row: asyncpg.Record) -> dict[str, Any]:
    referrals, closed = row["referrals"], row["closed"]
    enough = referrals >= THRESHOLD
    return {
        "referrals": _count(referrals),
        "completed": _count(row["completed"]),
        "completed_share": round(row["completed"] / closed, 3) if closed >= THRESHOLD else None,
        "median_hours_to_first_response": _hours(row["median_response"]) if enough else None,
        "median_hours_to_outcome": _hours(row["median_outcome"]) if enough else None,
    }


def _hours(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


_AGGREGATES = """count(DISTINCT id) AS referrals,
    count(DISTINCT id) FILTER (WHERE status = 'completed') AS completed,
    count(DISTINCT id) FILTER (WHERE hours_to_outcome IS NOT NULL) AS closed,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_response) AS median_response,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_outcome) AS median_outcome"""


async def compute(conn: asyncpg.Connection) -> dict[str, Any]:
    overall = await conn.fetchrow(f"WITH facts AS ({_FACTS}) SELECT {_AGGREGATES} FROM facts")
    result: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "suppression": f"counts from 1 to {THRESHOLD - 1} are shown as {SUPPRESSED!r}",
        "overall": _figures(overall),
    }
    for name, column in _GROUPS.items():
        rows = await conn.fetch(
            f"WITH facts AS ({_FACTS}) SELECT {column} AS key, {_AGGREGATES} "
            f"FROM facts GROUP BY {column} ORDER BY {column}"
        )
        result[f"by_{name}"] = [{name: r["key"], **_figures(r)} for r in rows]
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
    writer.writerow(["dimension", "key", *columns])
    writer.writerow(["overall", "all", *(stats["overall"][c] for c in columns)])
    for name in _GROUPS:
        for row in stats[f"by_{name}"]:
            writer.writerow([name, row[name], *(row[c] for c in columns)])
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
