"""How fresh a listing is, and when its agency is asked to check it (pure: no I/O).

A program carries the day its agency last said it is correct (`x_bridges.last_verified`: by the
"still correct" confirmation, or by saving an edit of it). Not checked for `STALE_AFTER`, it is
flagged to officers as possibly out of date (the app, `app/src/views/freshness.js`, shows it with
the same period). Every agency with programs is asked once a month (`ReviewPolicy.every`) by
email; the link in it confirms every program of the agency, once, before it expires. An intake
closed "until" a day reopens by itself that day (`reopens`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridges_directory import hsds

STALE_AFTER = timedelta(days=180)


def is_stale(last_verified: date | None, today: date) -> bool:
    """Not checked within `STALE_AFTER` (never checked is stale)."""
    return last_verified is None or today - last_verified > STALE_AFTER


@dataclass(frozen=True)
class ReviewPolicy:
    """How often agencies are asked, and how long a request's link works."""

    every: timedelta = timedelta(days=30)
    link_valid: timedelta = timedelta(days=45)

    def due(self, last_requested: datetime | None, now: datetime) -> bool:
        return last_requested is None or now - last_requested >= self.every


@dataclass(frozen=True)
class AgencyListing:
    """What a review request says of an agency's programs."""

    programs: int
    stale_programs: int
    oldest_checked: date | None


def summarize(last_verified: Iterable[date | None], today: date) -> AgencyListing:
    days = list(last_verified)
    checked = [d for d in days if d is not None]
    return AgencyListing(
        programs=len(days),
        stale_programs=sum(1 for d in days if is_stale(d, today)),
        oldest_checked=None if len(checked) < len(days) else min(checked, default=None),
    )


def local_today(service: hsds.Service, now: datetime) -> date:
    """Today where the program is (its first location's time zone; UTC when none is known)."""
    for sal in service.service_at_locations:
        zone = sal.location.x_bridges.timezone if sal.location else None
        if zone:
            try:
                return now.astimezone(ZoneInfo(zone)).date()
            except ZoneInfoNotFoundError:
                break
    return now.astimezone(UTC).date()


def reopens(extension: hsds.BridgesExtension, today: date) -> bool:
    """Whether an intake closed (or waitlisted) "until" a day reopens now: that day has come."""
    return extension.capacity_until is not None and extension.capacity_until <= today
