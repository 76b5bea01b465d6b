"""Value types the services' edges share: what PostgreSQL can store, refused early with a 422
instead of failing in the database with a 500 (pure: pydantic only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

INT64_MAX = 2**63 - 1


def _storable_instant(value: datetime) -> datetime:
    """Naive means UTC; the instant must exist in UTC (0001-01-01T00:00+14:00 does not)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "the date is outside the supported range (years 1 to 9999 in UTC)"
        ) from None
    return value


Instant = Annotated[datetime, AfterValidator(_storable_instant)]
"""A point in time, time zone aware (naive input is read as UTC), storable as timestamptz."""

BigintId = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A positive id that fits PostgreSQL's bigint."""
