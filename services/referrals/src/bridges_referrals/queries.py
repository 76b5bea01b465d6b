"""The read side of referrals: an agency's inbox and an officer's own list, filtered and
keyset-paged (as fast on page 500 as on page 1). Summaries only: no personal data, no audit."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from bridges_kit.sql import Params
from bridges_referrals import views
from bridges_referrals.domain import utc_now
from bridges_referrals.follow_up import AnswerChannel, FamilyFeedback
from bridges_referrals.models import ReferralPage
from bridges_referrals.repository import history_entry_of, referral_of
from bridges_schema import FamilyAnswer, ReferralStatus, Urgency


class ListingOrder(StrEnum):
    NEWEST = "newest"  # filed most recently first
    OLDEST = "oldest"
    DUE = "due"  # the response target soonest first
    UPDATED = "updated"  # changed most recently first (may shift while paging)


_ORDER = {  # key column, direction (the id breaks ties in the same direction)
    ListingOrder.NEWEST: ("created_at", "DESC"),
    ListingOrder.OLDEST: ("created_at", "ASC"),
    ListingOrder.DUE: ("respond_by", "ASC"),
    ListingOrder.UPDATED: ("updated_at", "DESC"),
}


class BadCursor(ValueError):
    """The paging cursor was not one this service issued."""


@dataclass(frozen=True)
class Filters:
    statuses: tuple[ReferralStatus, ...] = ()
    urgency: Urgency | None = None
    program_id: UUID | None = None
    overdue: bool | None = None
    ask_family: bool | None = None  # officers: the family is to be asked "did you get help?"


def _encode_cursor(order: ListingOrder, key: datetime, referral_id: UUID) -> str:
    raw = json.dumps([order.value, key.isoformat(), str(referral_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(order: ListingOrder, cursor: str) -> tuple[datetime, UUID]:
    try:
        cursor_order, key, referral_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if cursor_order != order.value:
            raise ValueError("the order changed")
        return datetime.fromisoformat(key), UUID(referral_id)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not valid for this listing; start again without it") from exc


_OVERDUE = "(r.status IN ('requested', 'received') AND r.respond_by < now())"
# `follow_up.FollowUp.officer_asks`, unless the family answered already
_ASK_FAMILY = """coalesce(b.answer IS NULL AND (f.status = 'undeliverable'
    OR (f.channel = 'officer' AND f.status = 'scheduled' AND f.due_at <= now())), false)"""
# The officer's list: the family's follow-up and answer (no comment: a list shows no family data)
_FAMILY = """ LEFT JOIN follow_up f ON f.case_id = r.case_id
    LEFT JOIN family_feedback b ON b.case_id = r.case_id"""


async def _page(
    pool: asyncpg.Pool,
    owner: str,
    owner_value: object,
    filters: Filters,
    order: ListingOrder,
    cursor: str | None,
    limit: int,
    *,
    with_last_change: bool = False,
) -> ReferralPage:
    column, direction = _ORDER[order]
    p = Params(owner_value)
    where = [f"r.{owner} = $1"]
    if filters.statuses:
        where.append(f"r.status = ANY({p([s.value for s in filters.statuses])}::text[])")
    if filters.urgency is not None:
        where.append(f"r.urgency = {p(filters.urgency.value)}")
    if filters.program_id is not None:
        where.append(f"r.program_id = {p(filters.program_id)}")
    if filters.overdue is not None:
        where.append(_OVERDUE if filters.overdue else f"NOT {_OVERDUE}")
    if filters.ask_family is not None and with_last_change:
        where.append(_ASK_FAMILY if filters.ask_family else f"NOT {_ASK_FAMILY}")
    if cursor:
        key, after_id = _decode_cursor(order, cursor)
        op = "<" if direction == "DESC" else ">"
        where.append(f"(r.{column}, r.id) {op} ({p(key)}, {p(after_id)})")
    last_change = (
        f""", {_LAST_CHANGE_COLUMNS}, b.answer AS family_answer, b.at AS family_answered_at,
               b.via AS family_answered_via, {_ASK_FAMILY} AS ask_family
           FROM referral r
           CROSS JOIN LATERAL (SELECT * FROM referral_history
               WHERE referral_id = r.id ORDER BY version DESC LIMIT 1) h{_FAMILY}"""
        if with_last_change
        else " FROM referral r"
    )
    rows = await pool.fetch(
        f"""SELECT r.*, (r.agency_not_reached_at IS NOT NULL) AS agency_not_reached,
                p.name AS program_name{last_change}
            LEFT JOIN program p ON p.service_id = r.program_id
            WHERE {" AND ".join(where)}
            ORDER BY r.{column} {direction}, r.id {direction} LIMIT {p(limit + 1)}""",
        *p.values,
    )
    now = utc_now()
    items = [
        views.summary(
            referral_of(row),
            now,
            history_entry_of(row, prefix="last_") if with_last_change else None,
            _feedback(row) if with_last_change else None,
            bool(row["ask_family"]) if with_last_change else False,
        )
        for row in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = _encode_cursor(order, last[column], last["id"]) if last is not None else None
    return ReferralPage(items=items, next_cursor=next_cursor)


def _feedback(row: asyncpg.Record) -> FamilyFeedback | None:
    if row["family_answer"] is None:
        return None
    return FamilyFeedback(
        case_id=row["case_id"],
        answer=FamilyAnswer(row["family_answer"]),
        at=row["family_answered_at"],
        via=AnswerChannel(row["family_answered_via"]),
    )


# The last change without its note: a note may speak of the family (it is sealed), and a list
# shows none of the family's data (the referral's own history has the notes).
_LAST_CHANGE_COLUMNS = ", ".join(
    f"h.{name} AS last_{name}"
    for name in (
        "referral_id",
        "from_status",
        "to_status",
        "version",
        "actor_id",
        "actor_role",
        "reason_code",
        "at",
    )
)


async def agency_inbox(
    pool: asyncpg.Pool,
    agency_id: UUID,
    filters: Filters,
    order: ListingOrder,
    cursor: str | None,
    limit: int,
) -> ReferralPage:
    """The referrals sent to an agency (newest first by default)."""
    return await _page(pool, "agency_id", agency_id, filters, order, cursor, limit)


async def officers_referrals(
    pool: asyncpg.Pool,
    officer_id: str,
    filters: Filters,
    order: ListingOrder,
    cursor: str | None,
    limit: int,
) -> ReferralPage:
    """The referrals an officer filed, each with its last change."""
    return await _page(
        pool, "officer_id", officer_id, filters, order, cursor, limit, with_last_change=True
    )


async def agency_name(pool: asyncpg.Pool, agency_id: UUID) -> str | None:
    """The organization an agency runs its programs as (from the directory's programs)."""
    name: str | None = await pool.fetchval(
        "SELECT organization_name FROM program WHERE agency_id = $1 AND NOT deleted"
        " ORDER BY updated_at DESC LIMIT 1",
        agency_id,
    )
    return name
