"""SQL for referrals, cases, consent, history, idempotency keys and the program read-model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

_REFERRAL_COLUMNS = """r.id, r.case_id, r.program_id, r.agency_id, r.officer_id, r.status,
    r.urgency, r.version, r.respond_by, r.created_at, r.updated_at, p.name AS program_name,
    (r.status = 'requested' AND r.respond_by < now()) AS overdue"""


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
        """INSERT INTO consent (id, case_id, given_by, method, given_at, scopes, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        consent_id,
        case_id,
        consent["given_by"],
        consent["method"],
        consent["given_at"],
        consent["scopes"],
        by,
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


async def set_status(conn: asyncpg.Connection, referral_id: UUID, status: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE referral SET status = $2, version = version + 1, updated_at = now()
           WHERE id = $1 RETURNING version, updated_at""",
        referral_id,
        status,
    )


async def referral_detail(conn: asyncpg.Connection, referral_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_REFERRAL_COLUMNS}, c.client, c.situation, c.need_codes,
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
        f"""SELECT {_REFERRAL_COLUMNS} FROM referral r
            LEFT JOIN program p ON p.service_id = r.program_id
            WHERE r.officer_id = $1 ORDER BY r.updated_at DESC, r.id DESC LIMIT $2""",
        officer_id,
        limit,
    )
    return rows


async def agency_inbox(
    conn: asyncpg.Connection, agency_id: UUID, status: str | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_REFERRAL_COLUMNS} FROM referral r
            LEFT JOIN program p ON p.service_id = r.program_id
            WHERE r.agency_id = $1 AND ($2::text IS NULL OR r.status = $2)
            ORDER BY r.created_at DESC, r.id DESC LIMIT $3""",
        agency_id,
        status,
        limit,
    )
    return rows
