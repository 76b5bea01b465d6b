"""The audit log's rules: what is recorded (actions, actors) and how entries are chained — each
entry's hash covers the one before, so verifying finds the first entry that was altered or
removed. Pure; the log itself is `audit_log`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

from bridges_kit.principal import Principal

GENESIS = "0" * 64


class Action(StrEnum):
    PII_READ = "pii.read"
    PII_LISTED = "pii.listed"  # a list showed families' data: the referrals in its detail
    STATUS_CHANGED = "referral.status_changed"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    PII_PURGED = "pii.purged"
    FAMILY_FEEDBACK = "family.feedback_recorded"


@dataclass(frozen=True)
class Actor:
    id: str
    role: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.sub, principal.role.value)


SYSTEM = Actor("bridges-referrals", "system")


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(
        [
            prev_hash,
            entry["at"].astimezone(UTC).isoformat(),
            entry["actor_id"],
            entry["actor_role"],
            entry["action"],
            str(entry["referral_id"]) if entry["referral_id"] else None,
            str(entry["case_id"]) if entry["case_id"] else None,
            entry["request_id"],
            entry["detail"],
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str | None = None
