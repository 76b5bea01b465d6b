"""Response targets per urgency (pure): when a referral becomes overdue if nobody opened it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bridges_schema import Urgency


@dataclass(frozen=True)
class ResponseTargets:
    emergency: timedelta = timedelta(hours=1)
    high: timedelta = timedelta(days=1)
    routine: timedelta = timedelta(days=3)

    def respond_by(self, urgency: Urgency, filed_at: datetime) -> datetime:
        target: timedelta = getattr(self, urgency.value)
        return filed_at + target
