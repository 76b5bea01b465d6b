"""Domain objects from the referrals database's rows, and the select lists they are read from:
shared by the repositories (one object at a time) and the list queries (pages of them). The
family's sealed fields are opened here with the case's key, when asked to."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import asyncpg

from bridges_kit.sealing import DataKey
from bridges_referrals.case_keys import (
    CLIENT,
    GIVEN_BY_NAME,
    SITUATION,
    WITHDRAWAL_NOTE,
    opened_json,
    opened_text,
)
from bridges_referrals.domain import Case, Consent, ConsentScope, HistoryEntry, Referral
from bridges_schema import ReasonCode, ReferralStatus, Urgency

# The unique index that keeps references unique (migration 010): a new referral that drew a
# taken reference draws again (`intake`).
REFERENCE_INDEX = "referral_reference"

# The columns a case is read from (its consent `k` joined), by the name `case_of` reads them as.
_CASE_FIELDS = {
    "id": "c.id",
    "officer_id": "c.officer_id",
    "need_codes": "c.need_codes",
    "urgency": "c.urgency",
    "created_at": "c.created_at",
    "officer_contact": "c.officer_contact",
    "purged_at": "c.purged_at",
    "safety_concerns": "c.safety_concerns",
    "given_by": "k.given_by",
    "method": "k.method",
    "given_at": "k.given_at",
    "scopes": "k.scopes",
    "recorded_by": "k.recorded_by",
    "text_version": "k.text_version",
    "withdrawn_at": "k.withdrawn_at",
}
_SEALED_CASE_FIELDS = {
    "data_key": "c.data_key",
    "client": "c.client",
    "situation": "c.situation",
    "given_by_name": "k.given_by_name",
    "withdrawal_note": "k.withdrawal_note",
}


def case_columns(prefix: str = "", *, sealed: bool = False) -> str:
    """The select list of a case (and, if `sealed`, its sealed fields), each named `prefix` and
    the field's name (a prefix keeps them apart from a joined referral's columns)."""
    fields = {**_CASE_FIELDS, **(_SEALED_CASE_FIELDS if sealed else {})}
    return ", ".join(f"{sql} AS {prefix}{name}" for name, sql in fields.items())


def case_of(row: asyncpg.Record, key: DataKey | None, *, personal: bool, prefix: str = "") -> Case:
    """A case from its row; its sealed fields opened with `key` if `personal`."""

    def col(name: str) -> Any:
        return row[prefix + name]

    case = Case(
        id=col("id"),
        officer_id=col("officer_id"),
        need_codes=tuple(col("need_codes")),
        urgency=Urgency(col("urgency")),
        created_at=col("created_at"),
        consent=Consent(
            given_by=col("given_by"),
            method=col("method"),
            given_at=col("given_at"),
            scopes=frozenset(ConsentScope(s) for s in col("scopes")),
            recorded_by=col("recorded_by"),
            text_version=col("text_version"),
            withdrawn_at=col("withdrawn_at"),
        ),
        officer_contact=col("officer_contact"),
        purged_at=col("purged_at"),
        safety_concerns=col("safety_concerns"),
    )
    if not personal:
        return case
    consent = replace(
        case.consent,
        given_by_name=opened_text(key, GIVEN_BY_NAME, col("given_by_name")),
        withdrawal_note=opened_text(key, WITHDRAWAL_NOTE, col("withdrawal_note")),
    )
    return replace(
        case,
        consent=consent,
        client=opened_json(key, CLIENT, col("client")),
        situation=opened_text(key, SITUATION, col("situation")),
    )


REFERRAL_COLUMNS = """r.id, r.case_id, r.program_id, r.agency_id, r.officer_id, r.status,
    r.urgency, r.version, r.respond_by, r.created_at, r.updated_at, r.first_response_at,
    r.closed_at, r.reference, (r.agency_not_reached_at IS NOT NULL) AS agency_not_reached,
    p.name AS program_name"""


def referral_of(row: asyncpg.Record) -> Referral:
    return Referral(
        id=row["id"],
        case_id=row["case_id"],
        program_id=row["program_id"],
        agency_id=row["agency_id"],
        officer_id=row["officer_id"],
        status=ReferralStatus(row["status"]),
        urgency=Urgency(row["urgency"]),
        version=row["version"],
        respond_by=row["respond_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        reference=row["reference"],
        first_response_at=row["first_response_at"],
        closed_at=row["closed_at"],
        agency_not_reached=row["agency_not_reached"],
        program_name=row["program_name"],
    )


def history_entry_of(
    row: asyncpg.Record, prefix: str = "", note: str | None = None
) -> HistoryEntry:
    """A history entry from a row (its columns named with `prefix` when joined to others); its
    note, opened, if the reader needs it."""
    from_status, reason = row[f"{prefix}from_status"], row[f"{prefix}reason_code"]
    return HistoryEntry(
        referral_id=row[f"{prefix}referral_id"],
        from_status=ReferralStatus(from_status) if from_status else None,
        to_status=ReferralStatus(row[f"{prefix}to_status"]),
        version=row[f"{prefix}version"],
        actor_id=row[f"{prefix}actor_id"],
        actor_role=row[f"{prefix}actor_role"],
        at=row[f"{prefix}at"],
        reason_code=ReasonCode(reason) if reason else None,
        note=note,
    )
