"""Reads of agencies' listings: an agency's programs with their versions, its last review
request, and the directory's audit log (paged by id, newest first). Reads only, on the pool."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory.domain import ListingReview, StoredService
from bridges_directory.listing_repository import SqlReviews
from bridges_directory.repository import SqlServices


async def agency_services(pool: asyncpg.Pool, agency_id: UUID) -> list[StoredService]:
    async with pool.acquire() as conn:
        return await SqlServices(conn).of_agency(agency_id)


async def last_review(pool: asyncpg.Pool, agency_id: UUID) -> ListingReview | None:
    async with pool.acquire() as conn:
        review_id = await conn.fetchval(
            """SELECT id FROM listing_review WHERE agency_id = $1
               ORDER BY requested_at DESC LIMIT 1""",
            agency_id,
        )
        return None if review_id is None else await SqlReviews(conn).get(review_id)


async def audit_page(
    pool: asyncpg.Pool, *, service_id: UUID | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Entries newest first, `limit` of them, older than entry `before` when given."""
    rows = await pool.fetch(
        """SELECT id, at, service_id, version, action, actor_sub, actor_role, actor_name,
               agency_id, changes
           FROM service_change
           WHERE ($1::uuid IS NULL OR service_id = $1) AND ($2::bigint IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3""",
        service_id,
        before,
        limit,
    )
    return [dict(r) for r in rows]
