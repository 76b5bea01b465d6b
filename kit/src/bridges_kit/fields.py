"""Value types the services' edges share: what PostgreSQL can store, refused early with a 422
instead of failing in the database with a 500 (pure: pydantic only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

INT64_MAX = 2**63 - 1

# asyncpg writes these two instants as PostgreSQL's -infinity and infinity and reads them back
# as naive datetimes: an answer would then carry a time without an offset. They are refused
# with the years outside 1..9999, so every stored instant reads back as it was given.
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def _storable_instant(value: datetime) -> datetime:
    """An offset is required (RFC 3339: a time without one names no instant); the instant must
    exist in UTC (0001-01-01T00:00+14:00 does not) and not be the driver's infinities."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the time needs a time zone offset, e.g. 2026-11-02T08:55:00Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "the date is outside the supported range (years 1 to 9999 in UTC)"
        ) from None
    if utc in (_FIRST, _LAST):
        raise ValueError("the date is outside the supported range (years 1 to 9999 in UTC)")
    return value


Instant = Annotated[datetime, AfterValidator(_storable_instant)]
"""A point in time with its offset (naive input is refused), storable as timestamptz."""

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_starts_in_utc(value: Any) -> Any:
    if isinstance(value, str) and _DATE_ONLY.match(value):
        return f"{value}T00:00:00Z"
    return value


InstantOrDay = Annotated[Instant, BeforeValidator(_day_starts_in_utc)]
"""An `Instant`, or a date alone meaning the first instant of that day in UTC (HSDS clients
send `modified_after=2026-11-01`)."""

BigintId = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A positive id that fits PostgreSQL's bigint."""
