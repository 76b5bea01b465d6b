"""The PostgreSQL repositories of agencies' listings: the directory's audit log (append-only)
and the listing reviews (migration 050). Reads for the API are in `listing_queries`."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from bridges_directory.domain import Change, ListingReview
from bridges_kit.sql_uow import Repository

# one replica at a time asks agencies to review (pg_advisory_xact_lock's key)
REVIEW_LOCK = 7_410_050


class SqlAudit(Repository):
    async def record(self, change: Change) -> None:
        await self._conn.execute(
            """INSERT INTO service_change (service_id, version, action, actor_sub, actor_role,
                   actor_name, agency_id, changes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            change.service_id,
            change.version,
            change.action,
            change.actor_sub,
            change.actor_role,
            change.actor_name,
            change.agency_id,
            dict(change.changes),
        )


def _review(row: asyncpg.Record) -> ListingReview:
    return ListingReview(
        id=row["id"],
        agency_id=row["agency_id"],
        requested_at=row["requested_at"],
        expires_at=row["expires_at"],
        requested_by=row["requested_by"],
        programs=row["programs"],
        confirmed_at=row["confirmed_at"],
    )


class SqlReviews(Repository):
    async def lock(self) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", REVIEW_LOCK)

    async def agencies_due(
        self, asked_before: datetime, checked_before: date, limit: int
    ) -> list[tuple[UUID, list[date | None]]]:
        rows = await self._conn.fetch(
            """SELECT s.agency_id, array_agg(s.last_verified ORDER BY s.id) AS checked
               FROM service s
               WHERE s.agency_id IS NOT NULL AND s.status = 'active'
                 AND NOT EXISTS (SELECT 1 FROM listing_review r
                                 WHERE r.agency_id = s.agency_id AND r.requested_at > $1)
               GROUP BY s.agency_id
               HAVING bool_or(s.last_verified IS NULL OR s.last_verified < $2)
               ORDER BY s.agency_id LIMIT $3""",
            asked_before,
            checked_before,
            limit,
        )
        return [(r["agency_id"], list(r["checked"])) for r in rows]

    async def add(self, review: ListingReview) -> None:
        await self._conn.execute(
            """INSERT INTO listing_review (id, agency_id, requested_at, expires_at, requested_by,
                   programs)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            review.id,
            review.agency_id,
            review.requested_at,
            review.expires_at,
            review.requested_by,
            review.programs,
        )

    async def get(self, review_id: UUID, *, for_update: bool = False) -> ListingReview | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT * FROM listing_review WHERE id = $1{lock}", review_id
        )
        return None if row is None else _review(row)

    async def confirmed(self, review_id: UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE listing_review SET confirmed_at = $2 WHERE id = $1", review_id, at
        )
