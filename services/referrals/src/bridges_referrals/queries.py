"""The read side of referrals in SQL: an agency's inbox and an officer's own list, filtered,
searched (by reference, or by the family's name through its blind index) and keyset-paged over
each order's keys (as fast on page 500 as on page 1); and the agency's programs, to filter by.
The family's data is opened per row only where the reader may see it (`reveal`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from uuid import UUID

import asyncpg

from bridges_kit.blind_index import BlindIndex
from bridges_kit.metrics import Metrics
from bridges_kit.sql import Params
from bridges_kit.sql_uow import Repository
from bridges_referrals import listings, name_index
from bridges_referrals.case_keys import CLIENT, CaseKeys, opened_json
from bridges_referrals.domain import Case, Referral
from bridges_referrals.follow_up import AnswerChannel, FamilyFeedback
from bridges_referrals.listings import Listed, ListedRow, ListingRequest
from bridges_referrals.models import ProgramOption
from bridges_referrals.records import case_columns, case_of, history_entry_of, referral_of
from bridges_schema import FamilyAnswer, ReferralStatus

_OVERDUE = "(r.status IN ('requested', 'received') AND r.respond_by < now())"
# `follow_up.FollowUp.officer_asks`, unless the family answered already
_ASK_FAMILY = """coalesce(b.answer IS NULL AND (f.status = 'undeliverable'
    OR (f.channel = 'officer' AND f.status = 'scheduled' AND f.due_at <= now())), false)"""
# The officer's list: the family's follow-up and answer (no comment: a list shows no family words)
_FAMILY = """LEFT JOIN follow_up f ON f.case_id = r.case_id
    LEFT JOIN family_feedback b ON b.case_id = r.case_id"""
_FAMILY_COLUMNS = f"""b.answer AS family_answer, b.at AS family_answered_at,
    b.via AS family_answered_via, {_ASK_FAMILY} AS ask_family"""

# The last change without its note: a note may speak of the family (it is sealed), and a list
# shows none of the family's words (the referral's own history has the notes).
_LAST_CHANGE = ", ".join(
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
_WITH_LAST_CHANGE = """CROSS JOIN LATERAL (SELECT * FROM referral_history
    WHERE referral_id = r.id ORDER BY version DESC LIMIT 1) h"""

# Where an agency may see (and so search) a family's name: `sharing.shows_client`'s rule.
_AGENCY_SEES_NAME = "(k.withdrawn_at IS NULL AND 'contact' = ANY(k.scopes))"

# The case with its consent, and of its sealed fields the client only: what a row may show.
_CASE = f"{case_columns('c_')}, c.data_key AS c_data_key, c.client AS c_client"

Reveal = Callable[[Referral, Case], bool]


class SqlListings(Repository):
    def __init__(self, conn: asyncpg.Connection, keys: CaseKeys, names: BlindIndex) -> None:
        super().__init__(conn)
        self._keys, self._names = keys, names

    async def page(self, request: ListingRequest, reveal: Reveal) -> Listed:
        keys, direction = listings.ORDER_KEYS[request.order]
        owner, p = request.owner, Params()
        if owner.agency_id is not None:
            where = [f"r.agency_id = {p(owner.agency_id)}"]
        elif owner.officer_id is not None:
            where = [f"r.officer_id = {p(owner.officer_id)}"]
        else:
            raise ValueError("a listing is of an agency's or an officer's referrals")
        filters = request.filters
        if filters.statuses:
            where.append(f"r.status = ANY({p([s.value for s in filters.statuses])}::text[])")
        if filters.urgency is not None:
            where.append(f"r.urgency = {p(filters.urgency.value)}")
        if filters.program_id is not None:
            where.append(f"r.program_id = {p(filters.program_id)}")
        if filters.overdue is not None:
            where.append(_OVERDUE if filters.overdue else f"NOT {_OVERDUE}")
        officer = owner.officer_id is not None
        if filters.ask_family is not None and officer:
            where.append(_ASK_FAMILY if filters.ask_family else f"NOT {_ASK_FAMILY}")
        if request.search is not None:
            where.append(self._searched(p, request.search, by_agency=owner.agency_id is not None))
        if request.cursor:
            values, after_id = listings.decode_cursor(request.order, request.cursor)
            op = "<" if direction == "DESC" else ">"
            placed = ", ".join(p(v) for v in values)
            columns = ", ".join(f"r.{k}" for k in keys)
            where.append(f"({columns}, r.id) {op} ({placed}, {p(after_id)})")
        rows = await self._conn.fetch(
            f"""SELECT r.*, (r.agency_not_reached_at IS NOT NULL) AS agency_not_reached,
                    p.name AS program_name, {_CASE}
                    {", " + _LAST_CHANGE + ", " + _FAMILY_COLUMNS if officer else ""}
                FROM referral r
                JOIN referral_case c ON c.id = r.case_id
                CROSS JOIN LATERAL (SELECT * FROM consent WHERE case_id = c.id
                    ORDER BY recorded_at DESC LIMIT 1) k
                LEFT JOIN program p ON p.service_id = r.program_id
                {_WITH_LAST_CHANGE + " " + _FAMILY if officer else ""}
                WHERE {" AND ".join(where)}
                ORDER BY {", ".join(f"r.{k} {direction}" for k in keys)}, r.id {direction}
                LIMIT {p(request.limit + 1)}""",
            *p.values,
        )
        listed = [self._row(row, reveal, officer) for row in rows[: request.limit]]
        more = len(rows) > request.limit
        cursor = listings.encode_cursor(request.order, listed[-1].referral) if more else None
        return Listed(listed, cursor)

    def _searched(self, p: Params, search: listings.Search, *, by_agency: bool) -> str:
        found = ["false"]  # what was typed is neither a reference nor a word: nothing matches
        if search.reference is not None:
            found.append(f"r.reference = {p(search.reference)}")
        if search.name_words:
            named = f"r.case_id IN ({name_index.matching_cases(p, self._names, search.name_words)})"
            # never a hint about a referral whose name the agency may not see
            found.append(f"({named} AND {_AGENCY_SEES_NAME})" if by_agency else named)
        return f"({' OR '.join(found)})"

    def _row(self, row: asyncpg.Record, reveal: Reveal, officer: bool) -> ListedRow:
        referral = referral_of(row)
        case = case_of(row, None, personal=False, prefix="c_")
        if row["c_client"] is not None and reveal(referral, case):
            key = self._keys.of_row(case.id, row["c_data_key"])
            case = replace(case, client=opened_json(key, CLIENT, row["c_client"]))
        if not officer:
            return ListedRow(referral, case)
        last = history_entry_of(row, prefix="last_")
        return ListedRow(referral, case, last, _feedback(row), bool(row["ask_family"]))


def _feedback(row: asyncpg.Record) -> FamilyFeedback | None:
    if row["family_answer"] is None:
        return None
    return FamilyFeedback(
        case_id=row["case_id"],
        answer=FamilyAnswer(row["family_answer"]),
        at=row["family_answered_at"],
        via=AnswerChannel(row["family_answered_via"]),
    )


async def agency_programs(pool: asyncpg.Pool, agency_id: UUID) -> list[ProgramOption]:
    """The programs an agency runs (from the directory's events), by name."""
    rows = await pool.fetch(
        "SELECT service_id, name FROM program WHERE agency_id = $1 AND NOT deleted ORDER BY name",
        agency_id,
    )
    return [ProgramOption(id=row["service_id"], name=row["name"]) for row in rows]


async def agency_name(pool: asyncpg.Pool, agency_id: UUID) -> str | None:
    """The organization an agency runs its programs as (from the directory's programs)."""
    name: str | None = await pool.fetchval(
        "SELECT organization_name FROM program WHERE agency_id = $1 AND NOT deleted"
        " ORDER BY updated_at DESC LIMIT 1",
        agency_id,
    )
    return name


async def sample_statuses(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """The bridges_referrals gauge (by status), bridges_referrals_overdue and
    bridges_referrals_filed_recent (the last hour, the last day)."""
    rows = await pool.fetch(
        f"""SELECT r.status, count(*) AS n, count(*) FILTER (WHERE {_OVERDUE}) AS overdue
            FROM referral r GROUP BY r.status"""
    )
    counts = {row["status"]: row["n"] for row in rows}
    for status in ReferralStatus:
        metrics.referrals(status=status.value).set(counts.get(status.value, 0))
    metrics.referrals_overdue.set(sum(row["overdue"] for row in rows))
    filed = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS hour,
                  count(*) AS day
           FROM referral WHERE created_at > now() - interval '1 day'"""
    )
    metrics.referrals_filed(window="1h").set(filed["hour"])
    metrics.referrals_filed(window="24h").set(filed["day"])
