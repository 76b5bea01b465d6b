"""The referrals unit of work: the repositories use cases and event handlers work through.

`ReferralsUnitOfWork` names them (protocols); `SqlUnitOfWork` binds the PostgreSQL ones
(`repository`, `queries`, `audit_log`) to one transaction, or, entered `in_one_statement`, only
`intakes` (`intake_rows`) to one statement. The unit tests' fake keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from bridges_kit.uow import UnitOfWork
from bridges_referrals import audit
from bridges_referrals.domain import (
    Case,
    HistoryEntry,
    IdempotentIntake,
    NewIntake,
    Program,
    Referral,
)
from bridges_referrals.follow_up import FamilyFeedback, FollowUp, FollowUpStatus
from bridges_referrals.intake_fingerprints import IntakeFingerprints
from bridges_referrals.listings import Listed, ListingRequest


class Programs(Protocol):
    async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Program]: ...

    async def apply(self, program: Program) -> bool:
        """Store `program` unless a newer version is known; True when stored."""
        ...

    async def apply_change(self, service_id: UUID, version: int, **fields: Any) -> bool:
        """Change some fields of a known program unless a newer version is known."""
        ...

    async def unknown_needs(self, codes: Sequence[str]) -> set[str]:
        """Those of `codes` the directory's taxonomy does not hold, as programs made it known
        (`need_codes`)."""
        ...


class Cases(Protocol):
    async def add(self, case: Case) -> None: ...

    async def get(
        self, case_id: UUID, *, for_update: bool = False, personal: bool = True
    ) -> Case | None:
        """The case; without the family's data (nothing opened) unless `personal`."""
        ...

    async def withdraw_consent(self, case_id: UUID, at: datetime, note: str | None) -> None:
        """Record the withdrawal and erase the family's data (client, situation, names, notes,
        its follow-up's safe hours and link, its comment, its intake's fingerprint); the
        follow-up still to come is cancelled. The officer's `note` on the withdrawal is kept until the case is purged."""
        ...

    async def purgeable(self, closed_before: datetime, limit: int) -> list[UUID]:
        """Cases not yet purged whose referrals all closed before `closed_before` (locked)."""
        ...

    async def purge(self, case_id: UUID, at: datetime) -> None:
        """Erase the case's personal data (client, situation, names, notes, the follow-up's
        link and safe hours, the family's comment, its intake's fingerprint), for good."""
        ...


class Referrals(Protocol):
    async def add(self, referral: Referral) -> None:
        """Raises `ReferenceTaken` when another referral has its reference."""
        ...

    async def get(self, referral_id: UUID, *, for_update: bool = False) -> Referral | None: ...

    async def of_case(self, case_id: UUID, *, for_update: bool = False) -> list[Referral]: ...

    async def save(self, referral: Referral) -> None:
        """Store a moved referral (status, version and its times)."""
        ...

    async def claim_overdue(self, now: datetime, limit: int) -> list[Referral]:
        """Referrals past their response target not yet flagged: flag them (once) and return
        them, skipping those another sweeper holds."""
        ...

    async def set_agency_reached(self, referral_id: UUID, reached: bool) -> bool:
        """False when there is no such referral."""
        ...


class History(Protocol):
    async def add(self, entry: HistoryEntry) -> None: ...

    async def of(self, referral_id: UUID) -> list[HistoryEntry]: ...


class IntakeKeys(Protocol):
    async def claim(self, officer_id: str, key: str, fingerprint: str) -> IdempotentIntake | None:
        """Claim the key (None), or the earlier intake that holds it (waits for it to commit)."""
        ...

    async def answer(self, officer_id: str, key: str, response: Mapping[str, Any]) -> None:
        """Keep the intake's answer under the key (with its case, whose erasure erases the
        fingerprint)."""
        ...


class Intakes(Protocol):
    """Only in a unit of work entered `in_one_statement`, where it is the only repository."""

    def read_lately(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        """Those of the programs this process read lately (no I/O). They may have changed
        since: a write relying on one checks its version (`NewIntake.program_versions`)."""
        ...

    async def add(self, intake: NewIntake) -> None:
        """Store the whole intake when the unit of work, entered `in_one_statement`, commits:
        only if its key is still free and its programs still at the versions read; else the
        commit raises `NothingWritten` and nothing is stored."""
        ...


class FollowUps(Protocol):
    async def get(self, case_id: UUID, *, personal: bool = False) -> FollowUp | None:
        """The case's follow-up; its safe hours opened only if `personal`."""
        ...

    async def by_id(self, follow_up_id: UUID) -> FollowUp | None:
        """With its safe hours opened (to send its message)."""
        ...

    async def by_token(self, token: str, *, for_update: bool = False) -> FollowUp | None:
        """The follow-up a link's token names (found by the token's hash), if any."""
        ...

    async def link_token(self, follow_up_id: UUID) -> str | None:
        """The token of a sent follow-up's link, opened (to send it again after a failure)."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[FollowUp]:
        """Messages due by `now` not yet sent, locked (others' skipped): any replica sends
        each once."""
        ...

    async def sent(
        self, follow_up_id: UUID, token: str, at: datetime, expires_at: datetime
    ) -> None:
        """The message is on its way with this token (kept as its hash, and sealed)."""
        ...

    async def set_status(self, follow_up_id: UUID, status: FollowUpStatus) -> None:
        """A new status; answered or cancelled, the link's sealed token is dropped too."""
        ...


class FamilyFeedbacks(Protocol):
    async def add(self, feedback: FamilyFeedback) -> bool:
        """Record the family's answer; False (nothing written) when it already answered."""
        ...

    async def of_case(self, case_id: UUID, *, comment: bool = False) -> FamilyFeedback | None:
        """The family's answer; its comment opened only if `comment`."""


class Listings(Protocol):
    async def page(
        self, request: ListingRequest, reveal: Callable[[Referral, Case], bool]
    ) -> Listed:
        """One page of an agency's or an officer's referrals, each with its case; the client
        opened only where `reveal` says the reader may see it."""
        ...


class AuditTrail(Protocol):
    async def record(
        self,
        actor: audit.Actor,
        action: audit.Action,
        *,
        referral_id: UUID | None = None,
        case_id: UUID | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None: ...


class ReferralsUnitOfWork(UnitOfWork):
    programs: Programs
    cases: Cases
    referrals: Referrals
    history: History
    intake_keys: IntakeKeys
    intakes: Intakes
    fingerprints: IntakeFingerprints  # no I/O: what intakes are remembered by under their key
    follow_ups: FollowUps
    feedback: FamilyFeedbacks
    listings: Listings
    audit: AuditTrail
