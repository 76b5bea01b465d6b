"""The referrals service's PostgreSQL repositories: programs (the read-model), cases with their
consent (and the blind index of the family's name), referrals, their history and intake
idempotency keys; and the unit of work binding them (with the list queries, `queries`). They
take and return domain objects (`records`); each works on the connection of the unit of work
that made it. The family's data is sealed here on the way in and opened on the way out
(`case_keys`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.blind_index import BlindIndex
from bridges_kit.one_statement import OneStatement
from bridges_kit.sealing import KeyRing
from bridges_kit.sql import Params
from bridges_kit.sql_uow import PostgresUnitOfWork, Repository
from bridges_referrals import name_index, need_codes
from bridges_referrals.audit_log import SqlAuditTrail
from bridges_referrals.case_keys import WITHDRAWAL_NOTE, CaseKeys, history_note, opened_text
from bridges_referrals.domain import (
    Case,
    HistoryEntry,
    IdempotentIntake,
    Program,
    ReferenceTaken,
    Referral,
)
from bridges_referrals.family_repository import SqlFamilyFeedbacks, SqlFollowUps
from bridges_referrals.intake_fingerprints import IntakeFingerprints
from bridges_referrals.intake_rows import (
    SqlIntakes,
    case_rows,
    history_row,
    insert_sql,
    referral_row,
)
from bridges_referrals.program_memory import ProgramMemory
from bridges_referrals.queries import SqlListings
from bridges_referrals.records import (
    REFERENCE_INDEX,
    REFERRAL_COLUMNS,
    case_columns,
    case_of,
    history_entry_of,
    referral_of,
)
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import CloudEvent, Streams

# -- programs (read-model) -----------------------------------------------------------------


def _program(row: asyncpg.Record) -> Program:
    return Program(
        service_id=row["service_id"],
        version=row["version"],
        name=row["name"],
        organization_name=row["organization_name"],
        agency_id=row["agency_id"],
        status=row["status"],
        accepting_referrals=row["accepting_referrals"],
        capacity_status=row["capacity_status"],
        taxonomy_codes=tuple(row["taxonomy_codes"]),
        deleted=row["deleted"],
        capacity_until=row["capacity_until"],
        capacity_note=row["capacity_note"],
    )


_PROGRAM_FIELDS = frozenset(
    {"accepting_referrals", "capacity_status", "capacity_until", "capacity_note", "deleted"}
)


async def know_need_codes(conn: asyncpg.Connection, codes: Iterable[str]) -> None:
    """Codes an intake may name from now on (`need_codes`)."""
    await conn.execute(
        "INSERT INTO need_code (code) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        sorted(codes),
    )


class SqlPrograms(Repository):
    def __init__(self, conn: asyncpg.Connection, memory: ProgramMemory | None = None) -> None:
        super().__init__(conn)
        self._memory = memory or ProgramMemory()

    async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        rows = await self._conn.fetch(
            "SELECT * FROM program WHERE service_id = ANY($1::uuid[])", list(ids)
        )
        found = {r["service_id"]: _program(r) for r in rows}
        self._memory.keep(found)
        return found

    async def apply(self, program: Program) -> bool:
        self._memory.forget(program.service_id)
        applied = await self._conn.fetchval(
            """INSERT INTO program (service_id, version, name, organization_name, agency_id,
                   status, accepting_referrals, capacity_status, taxonomy_codes, deleted,
                   capacity_until, capacity_note, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
               ON CONFLICT (service_id) DO UPDATE SET version = EXCLUDED.version,
                   name = EXCLUDED.name, organization_name = EXCLUDED.organization_name,
                   agency_id = EXCLUDED.agency_id, status = EXCLUDED.status,
                   accepting_referrals = EXCLUDED.accepting_referrals,
                   capacity_status = EXCLUDED.capacity_status,
                   taxonomy_codes = EXCLUDED.taxonomy_codes, deleted = EXCLUDED.deleted,
                   capacity_until = EXCLUDED.capacity_until,
                   capacity_note = EXCLUDED.capacity_note,
                   updated_at = now()
               WHERE program.version < EXCLUDED.version
               RETURNING true""",
            program.service_id,
            program.version,
            program.name,
            program.organization_name,
            program.agency_id,
            program.status,
            program.accepting_referrals,
            program.capacity_status,
            list(program.taxonomy_codes),
            program.deleted,
            program.capacity_until,
            program.capacity_note,
        )
        await know_need_codes(self._conn, need_codes.known_from(program.taxonomy_codes))
        return bool(applied)

    async def unknown_needs(self, codes: Sequence[str]) -> set[str]:
        rows = await self._conn.fetch(
            "SELECT code FROM need_code WHERE code = ANY($1::text[])", sorted(set(codes))
        )
        return set(codes) - {r["code"] for r in rows}

    async def apply_change(self, service_id: UUID, version: int, **fields: Any) -> bool:
        unknown = set(fields) - _PROGRAM_FIELDS
        if unknown:
            raise ValueError(f"not program fields: {sorted(unknown)}")
        self._memory.forget(service_id)
        p = Params(service_id, version)
        assignments = ", ".join(f"{name} = {p(value)}" for name, value in fields.items())
        applied = await self._conn.fetchval(
            f"""UPDATE program SET version = $2, updated_at = now(), {assignments}
                WHERE service_id = $1 AND version < $2 RETURNING true""",
            *p.values,
        )
        return bool(applied)


# -- cases and consent (the family's data sealed under the case's key: see `case_keys`) ----


class SqlCases(Repository):
    def __init__(self, conn: asyncpg.Connection, keys: CaseKeys, names: BlindIndex) -> None:
        super().__init__(conn)
        self._keys, self._names = keys, names

    async def add(self, case: Case) -> None:
        key, wrapped = self._keys.new(case.id)
        for table, values in case_rows(case, key, wrapped, self._keys.active_id):
            await self._conn.execute(insert_sql(table, len(values)), *values)
        await name_index.write(self._conn, self._names, case.id, case.client)

    async def get(
        self, case_id: UUID, *, for_update: bool = False, personal: bool = True
    ) -> Case | None:
        lock = " FOR UPDATE OF c" if for_update else ""
        row = await self._conn.fetchrow(
            f"""SELECT {case_columns(sealed=personal)}
                FROM referral_case c JOIN consent k ON k.case_id = c.id
                WHERE c.id = $1 ORDER BY k.recorded_at DESC LIMIT 1{lock}""",
            case_id,
        )
        if row is None:
            return None
        key = self._keys.of_row(case_id, row["data_key"]) if personal else None
        return case_of(row, key, personal=personal)

    async def withdraw_consent(self, case_id: UUID, at: datetime, note: str | None) -> None:
        # The case's key is destroyed with everything sealed under it; the officer's note, the
        # record of the withdrawal kept until retention, is sealed under a new key.
        wrapped = sealed_note = key_id = None
        if note is None:
            self._keys.destroyed(case_id)
        else:
            key, wrapped = self._keys.new(case_id)
            sealed_note, key_id = key.seal_text(WITHDRAWAL_NOTE, note), self._keys.active_id
        await self._conn.execute(
            f"""WITH case_erased AS (
                    UPDATE referral_case SET consent_withdrawn_at = $2, client = NULL,
                        situation = NULL, data_key = $4, data_key_id = $5
                    WHERE id = $1),
                consent_withdrawn AS (
                    UPDATE consent SET withdrawn_at = $2, withdrawal_note = $3,
                        given_by_name = NULL
                    WHERE case_id = $1 AND withdrawn_at IS NULL),
                {_ERASE_NAME_TOKENS},
                {_ERASE_FINGERPRINT},
                {_ERASE_FOLLOW_UP}
                {_ERASE_NOTES}""",
            case_id,
            at,
            sealed_note,
            wrapped,
            key_id,
        )

    async def purgeable(self, closed_before: datetime, limit: int) -> list[UUID]:
        rows = await self._conn.fetch(
            """SELECT c.id FROM referral_case c
               WHERE c.purged_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.case_id = c.id
                                 AND (r.closed_at IS NULL OR r.closed_at > $1))
               ORDER BY c.created_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            closed_before,
            limit,
        )
        return [r["id"] for r in rows]

    async def purge(self, case_id: UUID, at: datetime) -> None:
        self._keys.destroyed(case_id)
        await self._conn.execute(
            f"""WITH case_erased AS (
                    UPDATE referral_case SET client = NULL, situation = NULL, data_key = NULL,
                        data_key_id = NULL, purged_at = $2
                    WHERE id = $1),
                consent_erased AS (
                    UPDATE consent SET given_by_name = NULL, withdrawal_note = NULL
                    WHERE case_id = $1),
                {_ERASE_NAME_TOKENS},
                {_ERASE_FINGERPRINT},
                {_ERASE_FOLLOW_UP}
                {_ERASE_NOTES}""",
            case_id,
            at,
        )


# The name's blind index goes with the name: nothing left to find the family by.
_ERASE_NAME_TOKENS = f"name_tokens_erased AS ({name_index.ERASE})"
# ...and so does the intake's fingerprint: no guessed record can be confirmed against it, and a
# retry of the withdrawn intake is refused (the key stays taken), never filed again.
_ERASE_FINGERPRINT = """fingerprint_erased AS (
        UPDATE idempotency_key SET request_hash = NULL
        WHERE case_id = $1 AND request_hash IS NOT NULL)"""
# What else the key being destroyed sealed is cleared too: the case's follow-up's safe hours and
# link (a follow-up still to come is cancelled: the link stops working, the message is never
# sent) and the family's comment...
_ERASE_FOLLOW_UP = """follow_up_erased AS (
        UPDATE follow_up SET safe_window = NULL, token = NULL, token_hash = NULL,
            status = CASE WHEN status IN ('scheduled', 'sent', 'delivered', 'undeliverable')
                          THEN 'cancelled' ELSE status END
        WHERE case_id = $1),
    comment_erased AS (
        UPDATE family_feedback SET comment = NULL WHERE case_id = $1 AND comment IS NOT NULL)"""
# ...and the notes of the case's referrals.
_ERASE_NOTES = """UPDATE referral_history SET note = NULL
    WHERE referral_id IN (SELECT id FROM referral WHERE case_id = $1) AND note IS NOT NULL"""


# -- referrals and their history -----------------------------------------------------------


def reference_taken(error: asyncpg.UniqueViolationError) -> bool:
    return bool(error.constraint_name == REFERENCE_INDEX)


class SqlReferrals(Repository):
    async def add(self, referral: Referral) -> None:
        values = referral_row(referral)
        try:
            await self._conn.execute(insert_sql("referral", len(values)), *values)
        except asyncpg.UniqueViolationError as error:
            if reference_taken(error):
                raise ReferenceTaken(referral.reference) from None
            raise

    async def get(self, referral_id: UUID, *, for_update: bool = False) -> Referral | None:
        lock = " FOR UPDATE OF r" if for_update else ""
        row = await self._conn.fetchrow(
            f"""SELECT {REFERRAL_COLUMNS} FROM referral r
                LEFT JOIN program p ON p.service_id = r.program_id WHERE r.id = $1{lock}""",
            referral_id,
        )
        return None if row is None else referral_of(row)

    async def of_case(self, case_id: UUID, *, for_update: bool = False) -> list[Referral]:
        lock = " FOR UPDATE OF r" if for_update else ""
        rows = await self._conn.fetch(
            f"""SELECT {REFERRAL_COLUMNS} FROM referral r
                LEFT JOIN program p ON p.service_id = r.program_id
                WHERE r.case_id = $1 ORDER BY r.created_at, r.id{lock}""",
            case_id,
        )
        return [referral_of(r) for r in rows]

    async def save(self, referral: Referral) -> None:
        await self._conn.execute(
            """UPDATE referral SET status = $2, version = $3, updated_at = $4,
                   first_response_at = $5, closed_at = $6 WHERE id = $1""",
            referral.id,
            referral.status.value,
            referral.version,
            referral.updated_at,
            referral.first_response_at,
            referral.closed_at,
        )

    async def claim_overdue(self, now: datetime, limit: int) -> list[Referral]:
        rows = await self._conn.fetch(
            f"""WITH due AS (
                    UPDATE referral SET overdue_at = $1
                    WHERE id IN (SELECT id FROM referral
                                 WHERE overdue_at IS NULL AND status IN ('requested', 'received')
                                   AND respond_by < $1
                                 ORDER BY respond_by LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING *)
                SELECT {REFERRAL_COLUMNS} FROM due r
                LEFT JOIN program p ON p.service_id = r.program_id ORDER BY r.respond_by""",
            now,
            limit,
        )
        return [referral_of(r) for r in rows]

    async def set_agency_reached(self, referral_id: UUID, reached: bool) -> bool:
        status: str = await self._conn.execute(
            """UPDATE referral SET agency_not_reached_at = CASE WHEN $2 THEN NULL
                   ELSE coalesce(agency_not_reached_at, now()) END
               WHERE id = $1""",
            referral_id,
            reached,
        )
        return status != "UPDATE 0"


class SqlHistory(Repository):
    def __init__(self, conn: asyncpg.Connection, keys: CaseKeys) -> None:
        super().__init__(conn)
        self._keys = keys

    async def add(self, entry: HistoryEntry) -> None:
        sealed_note = None
        if entry.note is not None:
            key = await self._keys.of_referral(entry.referral_id)
            sealed_note = key.seal_text(history_note(entry.referral_id, entry.version), entry.note)
        values = history_row(entry, sealed_note)
        await self._conn.execute(insert_sql("referral_history", len(values)), *values)

    async def of(self, referral_id: UUID) -> list[HistoryEntry]:
        rows = await self._conn.fetch(
            """SELECT h.referral_id, h.from_status, h.to_status, h.version, h.actor_id,
                   h.actor_role, h.reason_code, h.note, h.at, c.id AS case_id, c.data_key
               FROM referral_history h JOIN referral r ON r.id = h.referral_id
               JOIN referral_case c ON c.id = r.case_id
               WHERE h.referral_id = $1 ORDER BY h.version""",
            referral_id,
        )
        return [
            history_entry_of(
                row,
                note=opened_text(
                    self._keys.of_row(row["case_id"], row["data_key"]),
                    history_note(referral_id, row["version"]),
                    row["note"],
                )
                if row["note"] is not None
                else None,
            )
            for row in rows
        ]


class SqlIntakeKeys(Repository):
    async def claim(self, officer_id: str, key: str, fingerprint: str) -> IdempotentIntake | None:
        inserted = await self._conn.fetchval(
            """INSERT INTO idempotency_key (officer_id, key, request_hash) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
            officer_id,
            key,
            fingerprint,
        )
        if inserted:
            return None
        row = await self._conn.fetchrow(
            "SELECT request_hash, response FROM idempotency_key WHERE officer_id = $1 AND key = $2",
            officer_id,
            key,
        )
        return IdempotentIntake(row["request_hash"], row["response"])

    async def answer(self, officer_id: str, key: str, response: Mapping[str, Any]) -> None:
        await self._conn.execute(
            # the case named in the answer: the fingerprint is erased with its family's data
            """UPDATE idempotency_key SET response = $3, case_id = ($3::jsonb ->> 'case_id')::uuid
               WHERE officer_id = $1 AND key = $2""",
            officer_id,
            key,
            dict(response),
        )


class SqlUnitOfWork(PostgresUnitOfWork, ReferralsUnitOfWork):
    """The referrals unit of work on PostgreSQL: these repositories on one transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        streams: Streams,
        ring: KeyRing,
        programs_seen: ProgramMemory | None = None,
    ) -> None:
        super().__init__(pool, streams)
        self._ring = ring
        self._names = name_index.of(ring)
        self.fingerprints = IntakeFingerprints(ring)
        self._programs_seen = programs_seen or ProgramMemory()

    def _bind(self, conn: asyncpg.Connection) -> None:
        keys = CaseKeys(conn, self._ring)
        self.programs = SqlPrograms(conn, self._programs_seen)
        self.cases = SqlCases(conn, keys, self._names)
        self.referrals = SqlReferrals(conn)
        self.history = SqlHistory(conn, keys)
        self.intake_keys = SqlIntakeKeys(conn)
        self.listings = SqlListings(conn, keys, self._names)
        self.follow_ups = SqlFollowUps(conn, keys)
        self.feedback = SqlFamilyFeedbacks(conn, keys)
        self.audit = SqlAuditTrail(conn)

    def _bind_statement(self, statement: OneStatement) -> None:
        self.intakes = SqlIntakes(statement, self._ring, self._names, self._programs_seen)

    async def _commit(self, events: list[CloudEvent[Any]]) -> None:
        try:
            await super()._commit(events)
        except asyncpg.UniqueViolationError as error:  # an intake in one statement
            if reference_taken(error):
                raise ReferenceTaken("a new referral's reference") from None
            raise
