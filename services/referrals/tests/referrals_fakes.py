"""An in-memory referrals unit of work, for unit tests of the use cases (no database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from bridges_kit.fakes import InMemoryUnitOfWork
from bridges_kit.principal import Principal
from bridges_kit.sealing import new_key_ring
from bridges_kit.uow import NothingWritten
from bridges_referrals import audit, lifecycle, need_codes
from bridges_referrals.domain import (
    Case,
    HistoryEntry,
    IdempotentIntake,
    NewIntake,
    Program,
    Referral,
)
from bridges_referrals.follow_up import (
    FamilyFeedback,
    FollowUp,
    FollowUpStatus,
    token_hash,
)
from bridges_referrals.intake_fingerprints import IntakeFingerprints
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import Role

_PENDING = {
    FollowUpStatus.SCHEDULED,
    FollowUpStatus.SENT,
    FollowUpStatus.DELIVERED,
    FollowUpStatus.UNDELIVERABLE,
}


class FakePrograms:
    def __init__(self) -> None:
        self.rows: dict[UUID, Program] = {}
        self.seen: dict[UUID, Program] = {}  # as this process read them: may be stale

    async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        found = {i: self.rows[i] for i in ids if i in self.rows}
        self.seen.update(found)
        return found

    def read_lately(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        return {i: self.seen[i] for i in ids if i in self.seen}

    async def apply(self, program: Program) -> bool:
        known = self.rows.get(program.service_id)
        if known is not None and known.version >= program.version:
            return False
        self.rows[program.service_id] = program
        return True

    async def apply_change(self, service_id: UUID, version: int, **fields: Any) -> bool:
        known = self.rows.get(service_id)
        if known is None or known.version >= version:
            return False
        self.rows[service_id] = replace(known, version=version, **fields)
        return True

    async def unknown_needs(self, codes: Sequence[str]) -> set[str]:
        known = need_codes.known_from(c for p in self.rows.values() for c in p.taxonomy_codes)
        return set(codes) - known


class FakeReferrals:
    def __init__(self) -> None:
        self.rows: dict[UUID, Referral] = {}
        self.flagged_overdue: set[UUID] = set()

    async def add(self, referral: Referral) -> None:
        self.rows[referral.id] = referral

    async def get(self, referral_id: UUID, *, for_update: bool = False) -> Referral | None:
        return self.rows.get(referral_id)

    async def of_case(self, case_id: UUID, *, for_update: bool = False) -> list[Referral]:
        return sorted(
            (r for r in self.rows.values() if r.case_id == case_id),
            key=lambda r: (r.created_at, r.id),
        )

    async def save(self, referral: Referral) -> None:
        self.rows[referral.id] = referral

    async def claim_overdue(self, now: datetime, limit: int) -> list[Referral]:
        due = sorted(
            (
                r
                for r in self.rows.values()
                if r.id not in self.flagged_overdue
                and r.status in lifecycle.AWAITING_RESPONSE
                and r.respond_by < now
            ),
            key=lambda r: r.respond_by,
        )[:limit]
        self.flagged_overdue.update(r.id for r in due)
        return due

    async def set_agency_reached(self, referral_id: UUID, reached: bool) -> bool:
        if referral_id not in self.rows:
            return False
        self.rows[referral_id] = replace(self.rows[referral_id], agency_not_reached=not reached)
        return True


class FakeHistory:
    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []

    async def add(self, entry: HistoryEntry) -> None:
        if any(
            e.referral_id == entry.referral_id and e.version == entry.version for e in self.entries
        ):
            raise AssertionError("history versions are unique per referral")
        self.entries.append(entry)

    async def of(self, referral_id: UUID) -> list[HistoryEntry]:
        return sorted(
            (e for e in self.entries if e.referral_id == referral_id), key=lambda e: e.version
        )


class FakeFollowUps:
    """Follow-ups by id; the link's token kept by id and found by its hash, as in the table."""

    def __init__(self) -> None:
        self.rows: dict[UUID, FollowUp] = {}
        self.tokens: dict[UUID, str] = {}
        self.hashes: dict[bytes, UUID] = {}

    def _of_case(self, case_id: UUID) -> FollowUp | None:
        return next((f for f in self.rows.values() if f.case_id == case_id), None)

    async def get(self, case_id: UUID, *, personal: bool = False) -> FollowUp | None:
        found = self._of_case(case_id)
        return found if found is None or personal else replace(found, window=None)

    async def by_id(self, follow_up_id: UUID) -> FollowUp | None:
        return self.rows.get(follow_up_id)

    async def by_token(self, token: str, *, for_update: bool = False) -> FollowUp | None:
        found = self.hashes.get(token_hash(token))
        return None if found is None else replace(self.rows[found], window=None)

    async def link_token(self, follow_up_id: UUID) -> str | None:
        return self.tokens.get(follow_up_id)

    async def claim_due(self, now: datetime, limit: int) -> list[FollowUp]:
        due = [
            f
            for f in self.rows.values()
            if f.status is FollowUpStatus.SCHEDULED
            and f.message_channel is not None
            and f.due_at is not None
            and f.due_at <= now
        ]
        return sorted(due, key=lambda f: f.due_at or now)[:limit]

    async def sent(
        self, follow_up_id: UUID, token: str, at: datetime, expires_at: datetime
    ) -> None:
        self.rows[follow_up_id] = replace(
            self.rows[follow_up_id], status=FollowUpStatus.SENT, sent_at=at, expires_at=expires_at
        )
        self.tokens[follow_up_id] = token
        self.hashes[token_hash(token)] = follow_up_id

    async def set_status(self, follow_up_id: UUID, status: FollowUpStatus) -> None:
        self.rows[follow_up_id] = replace(self.rows[follow_up_id], status=status)
        if status in (FollowUpStatus.ANSWERED, FollowUpStatus.CANCELLED):
            self.tokens.pop(follow_up_id, None)

    def erase(self, case_id: UUID) -> None:
        found = self._of_case(case_id)
        if found is None:
            return
        status = FollowUpStatus.CANCELLED if found.status in _PENDING else found.status
        self.rows[found.id] = replace(found, window=None, status=status)
        self.tokens.pop(found.id, None)
        self.hashes = {h: i for h, i in self.hashes.items() if i != found.id}


class FakeFamilyFeedbacks:
    def __init__(self) -> None:
        self.rows: dict[UUID, FamilyFeedback] = {}

    async def add(self, feedback: FamilyFeedback) -> bool:
        if feedback.case_id in self.rows:
            return False
        self.rows[feedback.case_id] = feedback
        return True

    async def of_case(self, case_id: UUID, *, comment: bool = False) -> FamilyFeedback | None:
        found = self.rows.get(case_id)
        return found if found is None or comment else replace(found, comment=None)

    def erase(self, case_id: UUID) -> None:
        if case_id in self.rows:
            self.rows[case_id] = replace(self.rows[case_id], comment=None)


class FakeCases:
    def __init__(
        self,
        referrals: FakeReferrals,
        history: FakeHistory,
        follow_ups: FakeFollowUps,
        feedback: FakeFamilyFeedbacks,
    ) -> None:
        self.rows: dict[UUID, Case] = {}
        self._referrals = referrals
        self._history = history
        self._follow_ups = follow_ups
        self._feedback = feedback

    async def add(self, case: Case) -> None:
        self.rows[case.id] = replace(case, follow_up=None)
        if case.follow_up is not None:
            self._follow_ups.rows[case.follow_up.id] = case.follow_up

    async def get(
        self, case_id: UUID, *, for_update: bool = False, personal: bool = True
    ) -> Case | None:
        case = self.rows.get(case_id)
        if case is None or personal:
            return case
        consent = replace(case.consent, given_by_name=None, withdrawal_note=None)
        return replace(case, client=None, situation=None, consent=consent)

    async def withdraw_consent(self, case_id: UUID, at: datetime, note: str | None) -> None:
        case = self.rows[case_id]
        consent = replace(case.consent, withdrawn_at=at, withdrawal_note=note, given_by_name=None)
        self.rows[case_id] = replace(case, client=None, situation=None, consent=consent)
        self._erase_notes(case_id)

    async def purgeable(self, closed_before: datetime, limit: int) -> list[UUID]:
        def closed(case_id: UUID) -> bool:
            referrals = [r for r in self._referrals.rows.values() if r.case_id == case_id]
            return all(r.closed_at is not None and r.closed_at <= closed_before for r in referrals)

        due = [c for c in self.rows.values() if c.purged_at is None and closed(c.id)]
        return [c.id for c in sorted(due, key=lambda c: c.created_at)][:limit]

    async def purge(self, case_id: UUID, at: datetime) -> None:
        case = self.rows[case_id]
        consent = replace(case.consent, given_by_name=None, withdrawal_note=None)
        self.rows[case_id] = replace(
            case, client=None, situation=None, purged_at=at, consent=consent
        )
        self._erase_notes(case_id)

    def _erase_notes(self, case_id: UUID) -> None:
        self._follow_ups.erase(case_id)
        self._feedback.erase(case_id)
        ids = {r.id for r in self._referrals.rows.values() if r.case_id == case_id}
        self._history.entries = [
            replace(e, note=None) if e.referral_id in ids else e for e in self._history.entries
        ]


class FakeIntakeKeys:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], IdempotentIntake] = {}

    async def claim(self, officer_id: str, key: str, fingerprint: str) -> IdempotentIntake | None:
        if (officer_id, key) in self.rows:
            return self.rows[(officer_id, key)]
        self.rows[(officer_id, key)] = IdempotentIntake(fingerprint, None)
        return None

    async def answer(self, officer_id: str, key: str, response: Mapping[str, Any]) -> None:
        self.rows[(officer_id, key)] = replace(self.rows[(officer_id, key)], response=response)


class FakeIntakes:
    """Stores a whole intake at once, or raises `NothingWritten` (the key taken, a program
    changed since it was read), as the one statement does."""

    def __init__(
        self,
        keys: FakeIntakeKeys,
        programs: FakePrograms,
        cases: FakeCases,
        referrals: FakeReferrals,
        history: FakeHistory,
    ) -> None:
        self._keys, self._programs, self._cases = keys, programs, cases
        self._referrals, self._history = referrals, history

    def read_lately(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        return self._programs.read_lately(ids)

    async def add(self, intake: NewIntake) -> None:
        if (intake.officer_id, intake.idempotency_key) in self._keys.rows:
            raise NothingWritten("the key was taken")
        current = self._programs.rows
        if any(
            pid not in current or current[pid].version != version
            for pid, version in intake.program_versions.items()
        ):
            raise NothingWritten("a program changed since it was read")
        if await self._programs.unknown_needs(intake.case.need_codes):
            raise NothingWritten("a need is not known")
        self._keys.rows[(intake.officer_id, intake.idempotency_key)] = IdempotentIntake(
            intake.fingerprint, intake.answer
        )
        await self._cases.add(intake.case)
        for referral, entry in zip(intake.referrals, intake.first_entries, strict=True):
            await self._referrals.add(referral)
            await self._history.add(entry)


@dataclass(frozen=True)
class AuditEntry:
    actor: audit.Actor
    action: audit.Action
    referral_id: UUID | None
    case_id: UUID | None
    detail: Mapping[str, Any]


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def record(
        self,
        actor: audit.Actor,
        action: audit.Action,
        *,
        referral_id: UUID | None = None,
        case_id: UUID | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.entries.append(AuditEntry(actor, action, referral_id, case_id, dict(detail or {})))

    def actions(self) -> list[audit.Action]:
        return [e.action for e in self.entries]


class FakeUnitOfWork(InMemoryUnitOfWork, ReferralsUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.programs = FakePrograms()
        self.referrals = FakeReferrals()
        self.history = FakeHistory()
        self.follow_ups = FakeFollowUps()
        self.feedback = FakeFamilyFeedbacks()
        self.cases = FakeCases(self.referrals, self.history, self.follow_ups, self.feedback)
        self.intake_keys = FakeIntakeKeys()
        self.intakes = FakeIntakes(
            self.intake_keys, self.programs, self.cases, self.referrals, self.history
        )
        self.audit = FakeAudit()
        self.fingerprints = IntakeFingerprints(new_key_ring())

    def repositories(self) -> Iterable[object]:
        return (
            self.programs,
            self.referrals,
            self.history,
            self.cases,
            self.intake_keys,
            self.follow_ups,
            self.feedback,
            self.audit,
        )


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def program(agency_id: UUID | None = None, **fields: Any) -> Program:
    return Program(
        service_id=fields.pop("service_id", uuid.uuid4()),
        version=fields.pop("version", 1),
        name=fields.pop("name", "Riverton Pantry"),
        organization_name="Riverton Org",
        agency_id=agency_id if agency_id is not None else uuid.uuid4(),
        status=fields.pop("status", "active"),
        accepting_referrals=fields.pop("accepting_referrals", True),
        capacity_status="available",
        taxonomy_codes=fields.pop("taxonomy_codes", ("food.pantry",)),
        **fields,
    )


def officer(sub: str = "badge-1", **claims: Any) -> Principal:
    return Principal(sub=sub, role=Role.OFFICER, email=claims.get("email", f"{sub}@example.org"))


def staff(agency_id: UUID, sub: str = "staff-1") -> Principal:
    return Principal(sub=sub, role=Role.AGENCY_STAFF, agency_id=agency_id)


def admin() -> Principal:
    return Principal(sub="admin-1", role=Role.ADMIN)
