"""SQL for the directory tables, named by intent. Callers pass a connection (and own the transaction)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory import hsds


async def upsert_taxonomy(conn: asyncpg.Connection, taxonomy: hsds.Taxonomy) -> None:
    await conn.execute(
        """INSERT INTO taxonomy (id, name, document) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document""",
        taxonomy.id,
        taxonomy.name,
        taxonomy.model_dump(mode="json"),
    )


async def upsert_taxonomy_term(conn: asyncpg.Connection, term: hsds.TaxonomyTerm) -> None:
    await conn.execute(
        """INSERT INTO taxonomy_term (id, code, name, parent_id, taxonomy_id, document)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
               parent_id = EXCLUDED.parent_id, taxonomy_id = EXCLUDED.taxonomy_id,
               document = EXCLUDED.document""",
        term.id,
        term.code,
        term.name,
        term.parent_id,
        term.taxonomy_id,
        term.model_dump(mode="json"),
    )


async def existing_term_ids(conn: asyncpg.Connection, ids: list[UUID]) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM taxonomy_term WHERE id = ANY($1::uuid[])", ids)
    return {r["id"] for r in rows}


async def term_codes(conn: asyncpg.Connection, ids: list[UUID]) -> list[str]:
    rows = await conn.fetch(
        "SELECT coalesce(code, name) AS code FROM taxonomy_term WHERE id = ANY($1::uuid[]) "
        "ORDER BY 1",
        ids,
    )
    return [r["code"] for r in rows]


async def upsert_organization(conn: asyncpg.Connection, org: hsds.Organization) -> None:
    await conn.execute(
        """INSERT INTO organization (id, name, document) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document,
               last_modified = now()
           WHERE organization.document IS DISTINCT FROM EXCLUDED.document""",
        org.id,
        org.name,
        org.model_dump(mode="json", exclude_none=True),
    )


async def service_version(conn: asyncpg.Connection, service_id: UUID) -> tuple[int, str] | None:
    row = await conn.fetchrow(
        "SELECT version, content_hash FROM service WHERE id = $1 FOR UPDATE", service_id
    )
    return (row["version"], row["content_hash"]) if row else None


async def write_service(
    conn: asyncpg.Connection, service: hsds.Service, document: dict[str, Any], content_hash: str
) -> tuple[int, Any]:
    """Insert or replace the service row and its links; returns (version, last_modified)."""
    ext = service.x_bridges
    row = await conn.fetchrow(
        """INSERT INTO service (id, organization_id, name, status, agency_id, accepting_referrals,
               capacity_status, last_verified, content_hash, document)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,
               name = EXCLUDED.name, status = EXCLUDED.status, agency_id = EXCLUDED.agency_id,
               accepting_referrals = EXCLUDED.accepting_referrals,
               capacity_status = EXCLUDED.capacity_status,
               last_verified = EXCLUDED.last_verified, content_hash = EXCLUDED.content_hash,
               document = EXCLUDED.document, version = service.version + 1,
               last_modified = now()
           RETURNING version, last_modified""",
        service.id,
        service.organization.id,
        service.name,
        service.status,
        ext.agency_id,
        ext.accepting_referrals,
        ext.capacity_status.value,
        ext.last_verified,
        content_hash,
        document,
    )
    await conn.execute("DELETE FROM service_at_location WHERE service_id = $1", service.id)
    await conn.execute("DELETE FROM attribute WHERE service_id = $1", service.id)
    for sal in service.service_at_locations:
        loc = sal.location
        await conn.execute(
            """INSERT INTO location (id, name, latitude, longitude, document)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, latitude = EXCLUDED.latitude,
                   longitude = EXCLUDED.longitude, document = EXCLUDED.document""",
            loc.id,
            loc.name,
            loc.latitude,
            loc.longitude,
            loc.model_dump(mode="json", exclude_none=True),
        )
        await conn.execute(
            """INSERT INTO service_at_location (id, service_id, location_id) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET service_id = EXCLUDED.service_id,
                   location_id = EXCLUDED.location_id""",
            sal.id,
            service.id,
            loc.id,
        )
    await conn.executemany(
        """INSERT INTO attribute (id, service_id, taxonomy_term_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET service_id = EXCLUDED.service_id,
               taxonomy_term_id = EXCLUDED.taxonomy_term_id""",
        [(a.id, service.id, a.taxonomy_term_id) for a in service.attributes],
    )
    return row["version"], row["last_modified"]


async def fetch_service(conn: asyncpg.Connection, service_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT document, version, last_modified FROM service WHERE id = $1", service_id
    )


async def search_services(
    conn: asyncpg.Connection,
    *,
    text: str | None,
    organization_id: UUID | None,
    taxonomy_term_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    rows = await conn.fetch(
        """SELECT s.document, count(*) OVER () AS total
           FROM service s
           WHERE ($1::text IS NULL OR lower(s.name) LIKE '%' || lower($1) || '%'
                  OR s.document->>'description' ILIKE '%' || $1 || '%')
             AND ($2::uuid IS NULL OR s.organization_id = $2)
             AND ($3::uuid IS NULL OR EXISTS (
                    SELECT 1 FROM attribute a WHERE a.service_id = s.id
                    AND a.taxonomy_term_id = $3))
           ORDER BY s.name, s.id
           LIMIT $4 OFFSET $5""",
        text,
        organization_id,
        taxonomy_term_id,
        limit,
        offset,
    )
    if not rows and offset:
        total = await conn.fetchval("SELECT count(*) FROM service")
        return int(total), []
    return (rows[0]["total"] if rows else 0), [r["document"] for r in rows]


async def list_organizations(
    conn: asyncpg.Connection, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    total = await conn.fetchval("SELECT count(*) FROM organization")
    rows = await conn.fetch(
        "SELECT document FROM organization ORDER BY name, id LIMIT $1 OFFSET $2", limit, offset
    )
    return int(total), [r["document"] for r in rows]


async def fetch_organization(conn: asyncpg.Connection, org_id: UUID) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await conn.fetchval(
        "SELECT document FROM organization WHERE id = $1", org_id
    )
    return doc


async def list_taxonomy_terms(
    conn: asyncpg.Connection, parent_id: UUID | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    rows = await conn.fetch(
        """SELECT document, count(*) OVER () AS total FROM taxonomy_term
           WHERE $1::uuid IS NULL OR parent_id = $1
           ORDER BY name, id LIMIT $2 OFFSET $3""",
        parent_id,
        limit,
        offset,
    )
    return (rows[0]["total"] if rows else 0), [r["document"] for r in rows]
