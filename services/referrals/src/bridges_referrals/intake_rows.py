"""A new intake's rows — the case and its consent (the family's data sealed under the case's
new key), the referrals, their first history entries, the blind index of the family's name —
and `SqlIntakes`, which writes them all
with the Idempotency-Key's answer as one statement, gated on the key being free and the
programs unchanged since they were read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from bridges_kit.blind_index import BlindIndex
from bridges_kit.one_statement import OneStatement
from bridges_kit.sealing import DataKey, KeyRing
from bridges_referrals import name_index
from bridges_referrals.case_keys import (
    CLIENT,
    FOLLOW_UP_WINDOW,
    GIVEN_BY_NAME,
    SITUATION,
    history_note,
)
from bridges_referrals.domain import Case, HistoryEntry, NewIntake, Program, Referral
from bridges_referrals.follow_up import FollowUp
from bridges_referrals.program_memory import ProgramMemory

# The columns a new case, its consent, a new referral and a history entry are stored in, in the
# order of the values `case_rows`, `referral_row` and `history_row` give.
COLUMNS = {
    "referral_case": """id, officer_id, client, situation, need_codes, urgency, created_at,
        officer_contact, data_key, data_key_id, safety_concerns""",
    "consent": """id, case_id, given_by, given_by_name, method, given_at, scopes, recorded_by,
        recorded_at, text_version""",
    "follow_up": """id, case_id, channel, chosen, status, reconfirmed, due_at, safe_window,
        created_at""",
    "referral": """id, case_id, program_id, agency_id, officer_id, status, urgency, version,
        respond_by, created_at, updated_at, reference""",
    "referral_history": """referral_id, from_status, to_status, version, actor_id, actor_role,
        reason_code, note, at""",
}


def insert_sql(table: str, count: int) -> str:
    placeholders = ", ".join(f"${n}" for n in range(1, count + 1))
    return f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({placeholders})"


def case_rows(
    case: Case, key: DataKey, wrapped: bytes, key_id: str
) -> list[tuple[str, tuple[Any, ...]]]:
    """The new case's row, its consent's and its follow-up's, the family's data sealed under
    `key`."""
    consent = case.consent
    name = consent.given_by_name
    follow_up = [] if case.follow_up is None else [("follow_up", _follow_up_row(case, key))]
    return [
        (
            "referral_case",
            (
                case.id,
                case.officer_id,
                None if case.client is None else key.seal_json(CLIENT, case.client),
                None if case.situation is None else key.seal_text(SITUATION, case.situation),
                list(case.need_codes),
                case.urgency.value,
                case.created_at,
                case.officer_contact,
                wrapped,
                key_id,
                case.safety_concerns,
            ),
        ),
        (
            "consent",
            (
                case.id,  # one consent per case: it shares the case's id
                case.id,
                consent.given_by,
                None if name is None else key.seal_text(GIVEN_BY_NAME, name),
                consent.method,
                consent.given_at,
                sorted(s.value for s in consent.scopes),
                consent.recorded_by,
                case.created_at,
                consent.text_version,
            ),
        ),
        *follow_up,
    ]


def _follow_up_row(case: Case, key: DataKey) -> tuple[Any, ...]:
    planned: FollowUp | None = case.follow_up
    assert planned is not None
    window = planned.window
    return (
        planned.id,
        case.id,
        planned.channel.value,
        planned.chosen,
        planned.status.value,
        planned.reconfirmed,
        planned.due_at,
        None if window is None else key.seal_json(FOLLOW_UP_WINDOW, window.as_json()),
        case.created_at,
    )


def referral_row(referral: Referral) -> tuple[Any, ...]:
    return (
        referral.id,
        referral.case_id,
        referral.program_id,
        referral.agency_id,
        referral.officer_id,
        referral.status.value,
        referral.urgency.value,
        referral.version,
        referral.respond_by,
        referral.created_at,
        referral.updated_at,
        referral.reference,
    )


def history_row(entry: HistoryEntry, sealed_note: bytes | None) -> tuple[Any, ...]:
    return (
        entry.referral_id,
        entry.from_status.value if entry.from_status else None,
        entry.to_status.value,
        entry.version,
        entry.actor_id,
        entry.actor_role,
        entry.reason_code.value if entry.reason_code else None,
        sealed_note,
        entry.at,
    )


class SqlIntakes:
    """Adds a whole intake to the unit of work's one statement (`in_one_statement`), relying
    on the programs as this process read them lately (`ProgramMemory`)."""

    def __init__(
        self,
        statement: OneStatement,
        ring: KeyRing,
        names: BlindIndex,
        memory: ProgramMemory,
    ) -> None:
        self._statement, self._ring, self._names, self._memory = statement, ring, names, memory

    def read_lately(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        return self._memory.recall(ids)

    async def add(self, intake: NewIntake) -> None:
        statement = self._statement
        p = statement.params
        ids, versions = list(intake.program_versions), list(intake.program_versions.values())
        needs = list(intake.case.need_codes)  # distinct
        # The gate: the key's row with its answer, if the key is free (a concurrent intake
        # under it is waited for), every program is still at the version read and every need
        # is a known code (else the path that reads first names what is unknown).
        statement.gate(
            f"""INSERT INTO idempotency_key (officer_id, key, request_hash, response, case_id)
                SELECT {p(intake.officer_id)}, {p(intake.idempotency_key)},
                       {p(intake.fingerprint)}, {p(dict(intake.answer))}, {p(intake.case.id)}
                WHERE (SELECT count(*) FROM program
                       JOIN unnest({p(ids)}::uuid[], {p(versions)}::bigint[]) AS read (id, version)
                         ON program.service_id = read.id AND program.version = read.version)
                      = {p(len(ids))}
                  AND (SELECT count(*) FROM need_code WHERE code = ANY({p(needs)}::text[]))
                      = {p(len(needs))}
                ON CONFLICT DO NOTHING RETURNING true"""
        )
        key, wrapped = self._ring.new_data_key(str(intake.case.id))
        rows = case_rows(intake.case, key, wrapped, self._ring.active)
        rows += [("referral", referral_row(r)) for r in intake.referrals]
        rows += [
            ("referral_history", history_row(e, _sealed_note(key, e))) for e in intake.first_entries
        ]
        for table, values in rows:
            statement.write(
                f"INSERT INTO {table} ({COLUMNS[table]}) "
                f"SELECT {', '.join(p(v) for v in values)} FROM gate"
            )
        tokens = name_index.tokens(self._names, intake.case.client)
        if tokens:
            statement.write(
                f"""INSERT INTO family_name_token (case_id, key_id, token)
                    SELECT {p(intake.case.id)}, {p(self._names.active)}, t
                    FROM gate, unnest({p(tokens)}::bytea[]) AS t"""
            )


def _sealed_note(key: DataKey, entry: HistoryEntry) -> bytes | None:
    if entry.note is None:
        return None
    return key.seal_text(history_note(entry.referral_id, entry.version), entry.note)
