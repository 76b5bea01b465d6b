"""Referral use cases: file an intake, move a referral through its lifecycle, read views.

Every state change writes its history row and its event (outbox) in the same transaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.auth import Principal
from bridges_kit.outbox import enqueue
from bridges_referrals import audit, lifecycle, repository
from bridges_referrals.models import (
    ConsentScope,
    FileReferral,
    HistoryEntry,
    InboxPage,
    IntakeResult,
    ReferralView,
    Transition,
)
from bridges_referrals.sla import ResponseTargets
from bridges_schema import (
    FINAL_STATUSES,
    REFERRAL_REQUESTED,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    Streams,
    Urgency,
    new_event,
    referral_status_event,
)

SOURCE = "/bridges/referrals"


class ConsentMissing(ValueError):
    """A referral cannot be filed without the family's recorded consent."""


class UnknownProgram(ValueError):
    """The chosen program is not in the directory (as this service knows it)."""


class ProgramNotAccepting(ValueError):
    """The chosen program does not take referrals now."""


class IdempotencyKeyReused(ValueError):
    """The Idempotency-Key was already used for a different request."""


class ReferralNotFound(LookupError):
    """No such referral, or not one the caller may see (the two are told apart to no one)."""


class StaleVersion(Exception):
    """The referral changed since the caller read it (If-Match does not match)."""


def request_fingerprint(request: FileReferral) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


async def file_referrals(
    pool: asyncpg.Pool,
    streams: Streams,
    targets: ResponseTargets,
    officer: Principal,
    request: FileReferral,
    idempotency_key: str,
) -> tuple[IntakeResult, bool]:
    """File one referral per chosen program; returns (result, replayed)."""
    if request.consent is None:
        raise ConsentMissing("the family's consent is required: record who consented, how and when")
    consent = request.consent
    async with pool.acquire() as conn, conn.transaction():
        earlier = await repository.claim_idempotency_key(
            conn, officer.sub, idempotency_key, request_fingerprint(request)
        )
        if earlier is not None:
            if earlier["request_hash"] != request_fingerprint(request):
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different referral"
                )
            return IntakeResult.model_validate(earlier["response"]), True
        programs = await repository.programs_by_id(conn, request.program_ids)
        for program_id in request.program_ids:
            program = programs.get(program_id)
            if program is None or program["deleted"]:
                raise UnknownProgram(f"program {program_id} is not in the directory")
            if (
                not program["accepting_referrals"]
                or program["status"] != "active"
                or program["agency_id"] is None
            ):
                raise ProgramNotAccepting(
                    f"program {program_id} ({program['name']}) is not accepting referrals"
                )
        case_id, now = uuid.uuid4(), datetime.now(UTC)
        need_codes = sorted(set(request.needs))
        await repository.insert_case(
            conn,
            case_id,
            officer.sub,
            request.client.model_dump(mode="json", exclude_none=True),
            request.situation,
            need_codes,
            request.urgency.value,
        )
        await repository.insert_consent(
            conn, uuid.uuid4(), case_id, consent.model_dump(), officer.sub
        )
        respond_by = targets.respond_by(request.urgency, now)
        views: list[ReferralView] = []
        for program_id in request.program_ids:
            program = programs[program_id]
            referral_id = uuid.uuid4()
            row = await repository.insert_referral(
                conn,
                referral_id=referral_id,
                case_id=case_id,
                program_id=program_id,
                agency_id=program["agency_id"],
                officer_id=officer.sub,
                status=ReferralStatus.REQUESTED.value,
                urgency=request.urgency.value,
                respond_by=respond_by,
            )
            await repository.insert_history(
                conn,
                referral_id=referral_id,
                from_status=None,
                to_status=ReferralStatus.REQUESTED.value,
                version=1,
                actor_id=officer.sub,
                actor_role=officer.role.value,
            )
            event = new_event(
                REFERRAL_REQUESTED,
                ReferralRequested(
                    referral_id=referral_id,
                    case_id=case_id,
                    program_id=program_id,
                    agency_id=program["agency_id"],
                    urgency=request.urgency,
                    need_codes=tuple(need_codes),
                    officer_id=officer.sub,
                    version=1,
                    requested_at=row["created_at"],
                    respond_by=respond_by,
                ),
                source=SOURCE,
                subject=str(referral_id),
            )
            await enqueue(conn, event, streams)
            views.append(
                ReferralView(
                    id=referral_id,
                    case_id=case_id,
                    program_id=program_id,
                    program_name=program["name"],
                    agency_id=program["agency_id"],
                    officer_id=officer.sub,
                    status=ReferralStatus.REQUESTED,
                    urgency=request.urgency,
                    version=1,
                    respond_by=respond_by,
                    overdue=False,
                    created_at=row["created_at"],
                    updated_at=row["created_at"],
                )
            )
        result = IntakeResult(case_id=case_id, referrals=views)
        await repository.store_idempotent_response(
            conn, officer.sub, idempotency_key, result.model_dump(mode="json")
        )
    return result, False


def _may_see(principal: Principal, agency_id: UUID, officer_id: str) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.AGENCY_STAFF:
        return principal.agency_id == agency_id
    if principal.role is Role.OFFICER:
        return principal.sub == officer_id
    return False


def _actor(principal: Principal) -> audit.Actor:
    return audit.Actor(principal.sub, principal.role.value)


async def apply_move(
    conn: asyncpg.Connection,
    streams: Streams,
    row: asyncpg.Record,
    actor: audit.Actor,
    actor_role: Role,
    move: Transition,
) -> None:
    """Make a checked move: status, history, event and audit entry, in the caller's transaction."""
    current = ReferralStatus(row["status"])
    referral_id = row["id"]
    updated = await repository.set_status(
        conn,
        referral_id,
        move.to.value,
        first_response=current in lifecycle.AWAITING_RESPONSE and move.to in lifecycle.RESPONSES,
        closed=move.to in FINAL_STATUSES,
    )
    await repository.insert_history(
        conn,
        referral_id=referral_id,
        from_status=current.value,
        to_status=move.to.value,
        version=updated["version"],
        actor_id=actor.id,
        actor_role=actor_role.value,
        reason_code=move.reason.value if move.reason else None,
        note=move.note,
    )
    event = new_event(
        referral_status_event(move.to),
        ReferralStatusChanged(
            referral_id=referral_id,
            case_id=row["case_id"],
            program_id=row["program_id"],
            agency_id=row["agency_id"],
            officer_id=row["officer_id"],
            status=move.to,
            previous_status=current,
            urgency=row["urgency"],
            reason_code=move.reason,
            actor_role=actor_role,
            version=updated["version"],
            changed_at=updated["updated_at"],
        ),
        source=SOURCE,
        subject=str(referral_id),
    )
    await enqueue(conn, event, streams)
    await audit.record(
        conn,
        actor,
        audit.Action.STATUS_CHANGED,
        referral_id=referral_id,
        case_id=row["case_id"],
        detail={"from": current.value, "to": move.to.value, "version": updated["version"]},
    )


async def transition(
    pool: asyncpg.Pool,
    streams: Streams,
    principal: Principal,
    referral_id: UUID,
    expected_version: int,
    move: Transition,
) -> ReferralView:
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.referral_for_update(conn, referral_id)
        if row is None or not _may_see(principal, row["agency_id"], row["officer_id"]):
            raise ReferralNotFound(f"no referral {referral_id}")
        if row["version"] != expected_version:
            raise StaleVersion(
                f"the referral is at version {row['version']}, not {expected_version}: "
                "reload it and try again"
            )
        lifecycle.check_transition(
            ReferralStatus(row["status"]),
            move.to,
            lifecycle.Actor(
                principal.role,
                is_receiving_agency=principal.agency_id == row["agency_id"],
                is_filing_officer=principal.sub == row["officer_id"],
            ),
            move.reason,
        )
        await apply_move(conn, streams, row, _actor(principal), principal.role, move)
        return await _detail(conn, streams, principal, referral_id)


async def get_referral(
    pool: asyncpg.Pool, streams: Streams, principal: Principal, referral_id: UUID
) -> ReferralView:
    """A referral with history; the receiving agency opening a new one marks it received."""
    async with pool.acquire() as conn, conn.transaction():
        return await _detail(conn, streams, principal, referral_id)


def _shared_client_fields(row: asyncpg.Record, principal: Principal) -> dict[str, Any]:
    """The PII the caller may see: all for the officer and admins; consented scopes for agencies."""
    client: dict[str, Any] | None = row["client"]
    if client is None:
        return {}
    if principal.role is not Role.AGENCY_STAFF:
        return {"client": client, "situation": row["situation"]}
    scopes = set(row["consent_scopes"] or ())
    if ConsentScope.CONTACT.value not in scopes:
        return {}
    shared = {k: v for k, v in client.items() if k != "household"}
    if ConsentScope.HOUSEHOLD.value in scopes:
        shared["household"] = client.get("household", [])
    situation = row["situation"] if ConsentScope.SITUATION.value in scopes else None
    return {"client": shared, "situation": situation}


async def _detail(
    conn: asyncpg.Connection, streams: Streams, principal: Principal, referral_id: UUID
) -> ReferralView:
    row = await repository.referral_detail(conn, referral_id)
    if row is None or not _may_see(principal, row["agency_id"], row["officer_id"]):
        raise ReferralNotFound(f"no referral {referral_id}")
    if principal.role is Role.AGENCY_STAFF and row["status"] == ReferralStatus.REQUESTED.value:
        locked = await repository.referral_for_update(conn, referral_id)
        if locked is not None and locked["status"] == ReferralStatus.REQUESTED.value:
            move = Transition(to=ReferralStatus.RECEIVED)
            await apply_move(conn, streams, locked, _actor(principal), principal.role, move)
        row = await repository.referral_detail(conn, referral_id)
        assert row is not None
    entries = [
        HistoryEntry.model_validate(dict(h)) for h in await repository.history(conn, referral_id)
    ]
    shared = _shared_client_fields(row, principal)
    if shared.get("client"):
        await audit.record(
            conn,
            _actor(principal),
            audit.Action.PII_READ,
            referral_id=referral_id,
            case_id=row["case_id"],
            detail={"fields": sorted(shared["client"])},
        )
    return ReferralView.model_validate(
        {
            **{k: row[k] for k in _VIEW_KEYS},
            "needs": list(row["need_codes"]),
            "history": entries,
            "consent_withdrawn": row["consent_withdrawn_at"] is not None,
            **shared,
        }
    )


_VIEW_KEYS = [
    "id",
    "case_id",
    "program_id",
    "program_name",
    "agency_id",
    "officer_id",
    "status",
    "urgency",
    "version",
    "respond_by",
    "overdue",
    "agency_not_reached",
    "created_at",
    "updated_at",
]


def summary(row: asyncpg.Record) -> ReferralView:
    return ReferralView.model_validate({k: row[k] for k in _VIEW_KEYS})


async def referrals_of(pool: asyncpg.Pool, officer: Principal, limit: int) -> list[ReferralView]:
    async with pool.acquire() as conn:
        rows = await repository.referrals_of_officer(conn, officer.sub, limit)
    return [
        ReferralView.model_validate(
            {**{k: r[k] for k in _VIEW_KEYS}, "last_change": r["last_change"]}
        )
        for r in rows
    ]


class BadCursor(ValueError):
    """The paging cursor was not one this service issued."""


def _encode_cursor(sort: str, row: ReferralView) -> str:
    column = repository.INBOX_ORDER[sort][0]
    key = getattr(row, column).isoformat()
    return base64.urlsafe_b64encode(json.dumps([sort, key, str(row.id)]).encode()).decode()


def _decode_cursor(sort: str, cursor: str) -> tuple[datetime, UUID]:
    try:
        cursor_sort, key, referral_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if cursor_sort != sort:
            raise ValueError("sort changed")
        return datetime.fromisoformat(key), UUID(referral_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not valid for this listing; start again without it") from exc


async def inbox(
    pool: asyncpg.Pool,
    staff: Principal,
    *,
    statuses: list[ReferralStatus] | None,
    urgency: Urgency | None,
    program_id: UUID | None,
    overdue: bool | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> InboxPage:
    """The agency's referrals, newest first by default, keyset-paged (fast at any depth)."""
    assert staff.agency_id is not None
    after = _decode_cursor(sort, cursor) if cursor else None
    async with pool.acquire() as conn:
        rows = await repository.agency_inbox(
            conn,
            staff.agency_id,
            statuses=[s.value for s in statuses] if statuses else None,
            urgency=urgency.value if urgency else None,
            program_id=program_id,
            overdue=overdue,
            sort=sort,
            after=after,
            limit=limit + 1,
        )
    items = [summary(r) for r in rows[:limit]]
    more = len(rows) > limit
    return InboxPage(items=items, next_cursor=_encode_cursor(sort, items[-1]) if more else None)
