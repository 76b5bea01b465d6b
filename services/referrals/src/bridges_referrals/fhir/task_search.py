"""Task search (`GET /fhir/Task?...`): the IG's parameters parsed into conditions, and the SQL
that finds the referrals a caller may see, oldest change first, keyset-paged. Polling per the IG
is `owner=Organization/<id>&_lastUpdated=gt<instant>`. Search results carry no personal data
(status reasons without notes), as the inbox's listing: nothing is audited."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from bridges_kit.principal import Principal
from bridges_kit.sql import Params
from bridges_referrals.domain import HistoryEntry, Referral
from bridges_referrals.fhir import codes, resources
from bridges_referrals.records import referral_of
from bridges_schema import ReasonCode, ReferralStatus, Role


class BadSearch(ValueError):
    """A search parameter Bridges cannot read (answered 400)."""


_COMPARATORS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "="}


@dataclass(frozen=True)
class TaskSearch:
    ids: tuple[UUID, ...] = ()
    case_id: UUID | None = None
    requester: str | None = None
    statuses: tuple[ReferralStatus, ...] = ()
    agency_id: UUID | None = None
    updated: tuple[tuple[str, datetime], ...] = ()  # (SQL comparator, instant)
    matches_nothing: bool = False  # e.g. a code other than `fulfill`
    after: tuple[datetime, UUID] | None = None
    count: int = 50
    extra: dict[str, str] = field(default_factory=dict)


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise BadSearch(f"{what}: {value!r} is not an id Bridges issues") from None


def _reference_id(value: str, kind: str, what: str) -> UUID:
    """`Kind/<id>`, a full URL ending so, or a bare id."""
    tail = value.rsplit("/", 2)
    if len(tail) >= 2 and tail[-2] != kind:
        raise BadSearch(f"{what} refers to a {tail[-2]}, not a {kind}")
    return _uuid(tail[-1], what)


def _instant(value: str) -> tuple[str, datetime]:
    prefix, rest = value[:2], value
    comparator = "="
    if prefix in _COMPARATORS:
        comparator, rest = _COMPARATORS[prefix], value[2:]
    try:
        at = datetime.fromisoformat(rest.replace("Z", "+00:00"))
    except ValueError:
        raise BadSearch(f"_lastUpdated: {value!r} is not [gt|ge|lt|le]<instant>") from None
    return comparator, at if at.tzinfo else at.replace(tzinfo=UTC)


def _statuses(value: str) -> tuple[ReferralStatus, ...]:
    found: list[ReferralStatus] = []
    for code in value.split(","):
        if code not in codes.REFERRAL_TASK_STATUSES:
            raise BadSearch(f"status: {code!r} is not a referral Task status")
        found += [s for s, task_status in codes.TASK_STATUS.items() if task_status == code]
    return tuple(found)


def encode_cursor(at: datetime, referral_id: UUID) -> str:
    return base64.urlsafe_b64encode(
        json.dumps([at.isoformat(), str(referral_id)]).encode()
    ).decode()


def _cursor(value: str) -> tuple[datetime, UUID]:
    try:
        at, referral_id = json.loads(base64.urlsafe_b64decode(value.encode()))
        return datetime.fromisoformat(at), UUID(referral_id)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise BadSearch("_cursor is not one this server issued; search again without it") from None


def parse(
    *,
    ids: str | None = None,
    code: str | None = None,
    patient: str | None = None,
    requester: str | None = None,
    status: str | None = None,
    focus: str | None = None,
    owner: str | None = None,
    last_updated: list[str] | None = None,
    cursor: str | None = None,
    count: int = 50,
) -> TaskSearch:
    """The search's conditions; BadSearch names a parameter that cannot be read."""
    found_ids = [_uuid(i, "_id") for i in ids.split(",")] if ids else []
    if focus:
        found_ids.append(_reference_id(focus, "ServiceRequest", "focus"))
    fulfill = code is None or code.rsplit("|", 1)[-1] == "fulfill"
    return TaskSearch(
        ids=tuple(found_ids),
        case_id=_reference_id(patient, "Patient", "patient") if patient else None,
        requester=requester.rsplit("|", 1)[-1] if requester else None,
        statuses=_statuses(status) if status else (),
        agency_id=_reference_id(owner, "Organization", "owner") if owner else None,
        updated=tuple(_instant(v) for v in last_updated or ()),
        matches_nothing=not fulfill,
        after=_cursor(cursor) if cursor else None,
        count=count,
    )


@dataclass(frozen=True)
class Found:
    tasks: list[resources.Resource]
    next_cursor: str | None


async def search(pool: asyncpg.Pool, caller: Principal, query: TaskSearch) -> Found:
    """The Tasks matching `query` among those `caller` may see (an agency's staff their
    agency's, an officer those they filed, an admin all)."""
    if query.matches_nothing:
        return Found([], None)
    p = Params()
    where = ["TRUE"]
    if caller.role is Role.AGENCY_STAFF:
        where.append(f"r.agency_id = {p(caller.agency_id)}")
    elif caller.role is Role.OFFICER:
        where.append(f"r.officer_id = {p(caller.sub)}")
    if query.ids:
        where.append(f"r.id = ANY({p(list(query.ids))}::uuid[])")
    if query.case_id is not None:
        where.append(f"r.case_id = {p(query.case_id)}")
    if query.requester is not None:
        where.append(f"r.officer_id = {p(query.requester)}")
    if query.statuses:
        where.append(f"r.status = ANY({p([s.value for s in query.statuses])}::text[])")
    if query.agency_id is not None:
        where.append(f"r.agency_id = {p(query.agency_id)}")
    for comparator, at in query.updated:
        where.append(f"r.updated_at {comparator} {p(at)}")
    if query.after is not None:
        at, after_id = query.after
        where.append(f"(r.updated_at, r.id) > ({p(at)}, {p(after_id)})")
    rows = await pool.fetch(
        f"""SELECT r.*, (r.agency_not_reached_at IS NOT NULL) AS agency_not_reached,
                p.name AS program_name, p.organization_name AS agency_name,
                c.officer_contact ->> 'name' AS officer_name,
                h.actor_id AS last_actor_id, h.actor_role AS last_actor_role,
                h.reason_code AS last_reason_code, h.at AS last_at
            FROM referral r
            JOIN referral_case c ON c.id = r.case_id
            LEFT JOIN program p ON p.service_id = r.program_id
            CROSS JOIN LATERAL (SELECT * FROM referral_history
                WHERE referral_id = r.id ORDER BY version DESC LIMIT 1) h
            WHERE {" AND ".join(where)}
            ORDER BY r.updated_at, r.id LIMIT {p(query.count + 1)}""",
        *p.values,
    )
    tasks = []
    for row in rows[: query.count]:
        referral = referral_of(row)
        tasks.append(
            resources.task(
                referral, [_last_move(referral, row)], row["officer_name"], row["agency_name"]
            )
        )
    more = len(rows) > query.count
    last = rows[query.count - 1] if more else None
    return Found(tasks, encode_cursor(last["updated_at"], last["id"]) if last else None)


def _last_move(referral: Referral, row: asyncpg.Record) -> HistoryEntry:
    """The move to the present status, without its note (a list shows no family data)."""
    reason = row["last_reason_code"]
    return HistoryEntry(
        referral_id=referral.id,
        from_status=None,
        to_status=referral.status,
        version=referral.version,
        actor_id=row["last_actor_id"],
        actor_role=row["last_actor_role"],
        at=row["last_at"],
        reason_code=ReasonCode(reason) if reason else None,
    )
