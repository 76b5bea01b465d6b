"""SQL for referrals, cases, consent, history, idempotency keys and the program read-model."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

_REFERRAL_COLUMNS = """r.id, r.case_id, r.program_id, r.agency_id, r.officer_id, r.status,
    r.urgency, r.version, r.respond_by, r.created_at, r.updated_at, p.name AS program_name,
    (r.status IN ('requested', 'received') AND r.respond_by < now()) AS overdue,
    (r.agency_not_reached_at IS NOT NULL) AS agency_not_reached"""


async def upsert_program(conn: asyncpg.Connection, program: dict[str, Any]) -> bool:
    """Apply a program change unless a newer version is already known; True when applied."""
    applied = await conn.fetchval(
        """INSERT INTO program (service_id, version, name, organization_name, agency_id, status,
               accepting_referrals, capacity_status, taxonomy_codes, deleted, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
           ON CONFLICT (service_id) DO UPDATE SET version = EXCLUDED.version,
               name = EXCLUDED.name, organization_name = EXCLUDED.organization_name,
               agency_id = EXCLUDED.agency_id, status = EXCLUDED.status,
               accepting_referrals = EXCLUDED.accepting_referrals,
               capacity_status = EXCLUDED.capacity_status,
               taxonomy_codes = EXCLUDED.taxonomy_codes, deleted = EXCLUDED.deleted,
               updated_at = now()
           WHERE program.version < EXCLUDED.version
           RETURNING true""",
        program["service_id"],
        program["version"],
        program["name"],
        program["organization_name"],
        program["agency_id"],
        program["status"],
        program["accepting_referrals"],
        program["capacity_status"],
        list(program["taxonomy_codes"]),
        program.get("deleted", False),
    )
    return bool(applied)


async def update_program_fields(
    conn: asyncpg.Connection, service_id: UUID, version: int, **fields: Any
) -> bool:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=3))
    applied = await conn.fetchval(
        f"""UPDATE program SET version = $2, updated_at = now(), {assignments}
            WHERE service_id = $1 AND version < $2 RETURNING true""",
        service_id,
        version,
        *fields.values(),
    )
    return bool(applied)


async def programs_by_id(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM program WHERE service_id = ANY($1::uuid[])", ids)
    return {r["service_id"]: r for r in rows}


async def claim_idempotency_key(
    conn: asyncpg.Connection, officer_id: str, key: str, request_hash: str
) -> asyncpg.Record | None:
    """Claim the key (None), or return the earlier claim (waits for a concurrent one to commit)."""
    inserted = await conn.fetchval(
        """INSERT INTO idempotency_key (officer_id, key, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        officer_id,
        key,
        request_hash,
    )
    if inserted:
        return None
    return await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency_key WHERE officer_id = $1 AND key = $2",
        officer_id,
        key,
    )


async def store_idempotent_response(
    conn: asyncpg.Connection, officer_id: str, key: str, response: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE idempotency_key SET response = $3 WHERE officer_id = $1 AND key = $2",
        officer_id,
        key,
        response,
    )


async def insert_case(
    conn: asyncpg.Connection,
    case_id: UUID,
    officer_id: str,
    client: dict[str, Any],
    situation: str | None,
    need_codes: list[str],
    urgency: str,
) -> None:
    await conn.execute(
        """INSERT INTO referral_case (id, officer_id, client, situation, need_codes, urgency)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        case_id,
        officer_id,
        client,
        situation,
        need_codes,
        urgency,
    )


async def insert_consent(
    conn: asyncpg.Connection, consent_id: UUID, case_id: UUID, consent: dict[str, Any], by: str
) -> None:
    await conn.execute(
        """INSERT INTO consent (id, case_id, given_by, method, given_at, scopes, recorded_by,
               given_by_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        consent_id,
        case_id,
        consent["given_by"],
        consent["method"],
        consent["given_at"],
        consent["scopes"],
        by,
        consent.get("given_by_name"),
    )


async def insert_referral(
    conn: asyncpg.Connection,
    *,
    referral_id: UUID,
    case_id: UUID,
    program_id: UUID,
    agency_id: UUID,
    officer_id: str,
    status: str,
    urgency: str,
    respond_by: datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO referral (id, case_id, program_id, agency_id, officer_id, status, urgency,
               respond_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at""",
        referral_id,
        case_id,
        program_id,
        agency_id,
        officer_id,
        status,
        urgency,
        respond_by,
    )


async def insert_history(
    conn: asyncpg.Connection,
    *,
    referral_id: UUID,
    from_status: str | None,
    to_status: str,
    version: int,
    actor_id: str,
    actor_role: str,
    reason_code: str | None = None,
    note: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO referral_history (referral_id, from_status, to_status, version, actor_id,
               actor_role, reason_code, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        referral_id,
        from_status,
        to_status,
        version,
        actor_id,
        actor_role,
        reason_code,
        note,
    )


async def referral_for_update(conn: asyncpg.Connection, referral_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT r.*, c.need_codes FROM referral r JOIN referral_case c ON c.id = r.case_id
           WHERE r.id = $1 FOR UPDATE OF r""",
        referral_id,
    )


async def set_status(
    conn: asyncpg.Connection, referral_id: UUID, status: str, *, first_response: bool, closed: bool
) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE referral SET status = $2, version = version + 1, updated_at = now(),
               first_response_at = CASE WHEN $3 THEN coalesce(first_response_at, now())
                                        ELSE first_response_at END,
               closed_at = CASE WHEN $4 THEN now() ELSE closed_at END
           WHERE id = $1 RETURNING version, updated_at""",
        referral_id,
        status,
        first_response,
        closed,
    )


async def referral_detail(conn: asyncpg.Connection, referral_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_REFERRAL_COLUMNS}, c.client, c.situation, c.need_codes,
                c.consent_withdrawn_at,
                (SELECT scopes FROM consent WHERE case_id = c.id AND withdrawn_at IS NULL
                 ORDER BY recorded_at DESC LIMIT 1) AS consent_scopes
            FROM referral r JOIN referral_case c ON c.id = r.case_id
            LEFT JOIN program p ON p.service_id = r.program_id
            WHERE r.id = $1""",
        referral_id,
    )


async def history(conn: asyncpg.Connection, referral_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT from_status, to_status, version, actor_id, actor_role, reason_code, note, at
           FROM referral_history WHERE referral_id = $1 ORDER BY version""",
        referral_id,
    )
    return rows


async def referrals_of_officer(
    conn: asyncpg.Connection, officer_id: str, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_REFERRAL_COLUMNS}, to_jsonb(h) AS last_change FROM referral r
            LEFT JOIN program p ON p.service_id = r.program_id
            CROSS JOIN LATERAL (
                SELECT from_status, to_status, version, actor_id, actor_role, reason_code, note, at
                FROM referral_history WHERE referral_id = r.id ORDER BY version DESC LIMIT 1) h
            WHERE r.officer_id = $1 ORDER BY r.updated_at DESC, r.id DESC LIMIT $2""",
        officer_id,
        limit,
    )
    return rows


INBOX_ORDER = {
    # sort: (key column, direction) — the id breaks ties in the same direction
    "newest": ("created_at", "DESC"),
    "oldest": ("created_at", "ASC"),
    "due": ("respond_by", "ASC"),
}


async def agency_inbox(
    conn: asyncpg.Connection,
    agency_id: UUID,
    *,
    statuses: list[str] | None,
    urgency: str | None,
    program_id: UUID | None,
    overdue: bool | None,
    sort: str,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """One keyset page: rows after `after` (the last row's sort key and id) in `sort` order."""
    column, direction = INBOX_ORDER[sort]
    params: list[Any] = [agency_id]

    def p(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    where = ["r.agency_id = $1"]
    if statuses:
        where.append(f"r.status = ANY({p(statuses)}::text[])")
    if urgency:
        where.append(f"r.urgency = {p(urgency)}")
    if program_id:
        where.append(f"r.program_id = {p(program_id)}")
    if overdue is not None:
        where.append(
            ("" if overdue else "NOT ")
            + "(r.status IN ('requested', 'received') AND r.respond_by < now())"
        )
    if after is not None:
        op = "<" if direction == "DESC" else ">"
        where.append(f"(r.{column}, r.id) {op} ({p(after[0])}, {p(after[1])})")
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_REFERRAL_COLUMNS} FROM referral r
            LEFT JOIN program p ON p.service_id = r.program_id
            WHERE {" AND ".join(where)}
            ORDER BY r.{column} {direction}, r.id {direction} LIMIT {p(limit)}""",
        *params,
    )
    return rows


# -- consent and retention -----------------------------------------------------------------


async def case_for_update(conn: asyncpg.Connection, case_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, officer_id, consent_withdrawn_at FROM referral_case WHERE id = $1 FOR UPDATE",
        case_id,
    )


async def case_referrals_for_update(
    conn: asyncpg.Connection, case_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM referral WHERE case_id = $1 ORDER BY created_at, id FOR UPDATE", case_id
    )
    return rows


async def withdraw_consent(conn: asyncpg.Connection, case_id: UUID) -> None:
    await conn.execute(
        "UPDATE consent SET withdrawn_at = now() WHERE case_id = $1 AND withdrawn_at IS NULL",
        case_id,
    )
    await conn.execute(
        "UPDATE referral_case SET consent_withdrawn_at = now() WHERE id = $1", case_id
    )


async def purgeable_cases(conn: asyncpg.Connection, retention: timedelta, limit: int) -> list[UUID]:
    """Cases not yet purged whose referrals all closed more than `retention` ago."""
    rows = await conn.fetch(
        """SELECT c.id FROM referral_case c
           WHERE c.purged_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.case_id = c.id
                             AND (r.closed_at IS NULL OR r.closed_at > now() - $1::interval))
           ORDER BY c.created_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        retention,
        limit,
    )
    return [r["id"] for r in rows]


async def purge_case(conn: asyncpg.Connection, case_id: UUID) -> None:
    await conn.execute(
        "UPDATE referral_case SET client = NULL, situation = NULL, purged_at = now() WHERE id = $1",
        case_id,
    )
    await conn.execute("UPDATE consent SET given_by_name = NULL WHERE case_id = $1", case_id)
    await conn.execute(
        "UPDATE referral_history SET note = NULL WHERE referral_id IN "
        "(SELECT id FROM referral WHERE case_id = $1)",
        case_id,
    )


# -- response targets ----------------------------------------------------------------------


async def claim_overdue(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Referrals past their response target not yet flagged; locked, skipping others' claims."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE referral SET overdue_at = now()
           WHERE id IN (SELECT id FROM referral
                        WHERE overdue_at IS NULL AND status IN ('requested', 'received')
                          AND respond_by < now()
                        ORDER BY respond_by LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, case_id, program_id, agency_id, officer_id, status, urgency,
                     respond_by, overdue_at""",
        limit,
    )
    return rows


async def mark_agency_not_reached(conn: asyncpg.Connection, referral_id: UUID) -> None:
    await conn.execute(
        """UPDATE referral SET agency_not_reached_at = coalesce(agency_not_reached_at, now())
           WHERE id = $1""",
        referral_id,
    )


async def clear_agency_not_reached(conn: asyncpg.Connection, referral_id: UUID) -> None:
    await conn.execute(
        "UPDATE referral SET agency_not_reached_at = NULL WHERE id = $1", referral_id
    )
