"""What to do after a delivery attempt (pure): done, try again later, or give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE_S: tuple[float, ...] = (5, 30, 120, 600, 3600, 21600, 86400)
MAX_RETRY_AFTER_S = 86400.0


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class RetryIn:
    seconds: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


Outcome = Delivered | RetryIn | GiveUp


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait per a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


def after_attempt(
    attempts: int,
    status_code: int | None,
    *,
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE_S,
    retry_after: float | None = None,
    jitter: float = 0.2,
    rng: random.Random | None = None,
) -> Outcome:
    """Decide after the `attempts`-th attempt ended with `status_code` (None: no response)."""
    if status_code is not None and 200 <= status_code < 300:
        return Delivered()
    if status_code is not None and 400 <= status_code < 500 and status_code not in (408, 429):
        return GiveUp(f"receiver answered {status_code}: not retried")
    if attempts > len(schedule):
        what = f"HTTP {status_code}" if status_code is not None else "no response"
        return GiveUp(f"{what} after {attempts} attempts")
    base = schedule[attempts - 1]
    spread = base * jitter * (2 * (rng or random).random() - 1)
    delay = base + spread
    if retry_after is not None:
        delay = max(delay, retry_after)
    return RetryIn(delay)
