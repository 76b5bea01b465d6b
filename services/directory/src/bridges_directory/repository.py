"""The directory's PostgreSQL repositories (the write side): taxonomy, organizations and programs
with everything derived from them for search. Each works on its unit of work's connection and
returns domain objects; reads for the API are in `queries`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory import dataset, hsds, indexing, matching
from bridges_directory.domain import Current, ServiceRow, StoredService, Terms
from bridges_directory.listing_repository import SqlAudit, SqlReviews
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.sql_uow import PostgresUnitOfWork, Repository

# A term's names by language: its own (in its `language`, English by default), then those of
# `x_bridges.names`, which win for the same language (what search indexes and the lexicon serves).
TERM_NAMES = """(jsonb_build_object(coalesce(document ->> 'language', 'en'), name)
    || coalesce(document -> 'x_bridges' -> 'names', '{}'::jsonb))"""


DOCUMENT_TABLES = frozenset({"organization", "location", "taxonomy_term"})


async def document_of_row(
    conn: asyncpg.Connection | asyncpg.Pool, table: str, object_id: UUID, *, lock: bool = False
) -> dict[str, Any] | None:
    """The HSDS document an organization, location or taxonomy term is kept as (`lock`: held
    until the transaction ends)."""
    if table not in DOCUMENT_TABLES:
        raise ValueError(f"no documents in {table}")
    document: dict[str, Any] | None = await conn.fetchval(
        f"SELECT document FROM {table} WHERE id = $1{' FOR UPDATE' if lock else ''}", object_id
    )
    return document


class SqlTaxonomy(Repository):
    async def upsert_taxonomies(self, taxonomies: Sequence[hsds.Taxonomy]) -> None:
        await self._conn.executemany(
            """INSERT INTO taxonomy (id, name, document) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document
               WHERE taxonomy.document IS DISTINCT FROM EXCLUDED.document""",
            [(t.id, t.name, t.model_dump(mode="json", exclude_none=True)) for t in taxonomies],
        )

    async def upsert_terms(self, terms: Sequence[hsds.TaxonomyTerm]) -> None:
        await self._conn.executemany(
            """INSERT INTO taxonomy_term (id, code, name, parent_id, taxonomy_id, document)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
                   parent_id = EXCLUDED.parent_id, taxonomy_id = EXCLUDED.taxonomy_id,
                   document = EXCLUDED.document, last_modified = now()
               WHERE taxonomy_term.document IS DISTINCT FROM EXCLUDED.document""",
            [
                (
                    t.id,
                    t.code,
                    t.name,
                    t.parent_id,
                    t.taxonomy_id,
                    t.model_dump(mode="json", exclude_none=True),
                )
                for t in terms
            ],
        )

    async def terms(self) -> Terms:
        rows = await self._conn.fetch(
            f"""SELECT id, parent_id, coalesce(code, name) AS code, ARRAY(
                   SELECT value FROM jsonb_each_text({TERM_NAMES}) ORDER BY key) AS names
               FROM taxonomy_term"""
        )
        return Terms.build((r["id"], r["names"], r["parent_id"], r["code"]) for r in rows)

    async def known_references(self) -> dataset.Known:
        """What references in a dataset may point at: the terms and taxonomies held."""
        terms = await self._conn.fetch("SELECT id, parent_id, taxonomy_id, code FROM taxonomy_term")
        taxonomies = await self._conn.fetch("SELECT id FROM taxonomy")
        return dataset.Known(
            {
                r["id"]: dataset.KnownTerm(r["parent_id"], r["taxonomy_id"], r["code"])
                for r in terms
            },
            frozenset(r["id"] for r in taxonomies),
        )

    async def term(self, term_id: UUID) -> dict[str, Any] | None:
        return await document_of_row(self._conn, "taxonomy_term", term_id, lock=True)

    async def subtree(self, term_id: UUID) -> list[UUID]:
        rows = await self._conn.fetch(
            """WITH RECURSIVE below AS (
                   SELECT id, 0 AS depth FROM taxonomy_term WHERE id = $1
                   UNION
                   SELECT t.id, below.depth + 1 FROM taxonomy_term t
                   JOIN below ON t.parent_id = below.id WHERE below.depth < 50)
               SELECT DISTINCT id FROM below""",
            term_id,
        )
        return [r["id"] for r in rows]

    async def term_usage(self, term_id: UUID) -> tuple[int, int]:
        row = await self._conn.fetchrow(
            """SELECT (SELECT count(DISTINCT service_id) FROM attribute
                       WHERE taxonomy_term_id = $1) AS programs,
                      (SELECT count(*) FROM taxonomy_term WHERE parent_id = $1) AS narrower""",
            term_id,
        )
        return row["programs"], row["narrower"]

    async def delete_term(self, term_id: UUID) -> bool:
        return bool(
            await self._conn.fetchval(
                "DELETE FROM taxonomy_term WHERE id = $1 RETURNING 1", term_id
            )
        )


class SqlOrganizations(Repository):
    async def upsert(self, organizations: Sequence[hsds.Organization]) -> None:
        # by id, the last one given wins (as row-by-row upserts did)
        latest = {o.id: o for o in organizations}
        await self._conn.execute(
            """INSERT INTO organization (id, name, document)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document,
                   last_modified = now()
               WHERE organization.document IS DISTINCT FROM EXCLUDED.document""",
            *_columns(
                [
                    (o.id, o.name, o.model_dump(mode="json", exclude_none=True))
                    for o in latest.values()
                ],
                3,
            ),
        )

    async def get(self, organization_id: UUID) -> dict[str, Any] | None:
        return await document_of_row(self._conn, "organization", organization_id, lock=True)


async def _upsert_locations(conn: asyncpg.Connection, locations: Sequence[hsds.Location]) -> None:
    """Locations with their point for search (`earth`); one statement for the batch."""
    await conn.execute(
        """INSERT INTO location (id, name, latitude, longitude, document, earth)
           SELECT l.id, l.name, l.latitude, l.longitude, l.document,
               ll_to_earth(l.latitude, l.longitude)
           FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::jsonb[])
               AS l(id, name, latitude, longitude, document)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, latitude = EXCLUDED.latitude,
               longitude = EXCLUDED.longitude, document = EXCLUDED.document,
               earth = EXCLUDED.earth,
               last_modified = now()
           WHERE location.document IS DISTINCT FROM EXCLUDED.document""",
        *_columns(
            [
                (
                    loc.id,
                    loc.name,
                    loc.latitude,
                    loc.longitude,
                    loc.model_dump(mode="json", exclude_none=True),
                )
                for loc in locations
            ],
            5,
        ),
    )


class SqlLocations(Repository):
    async def upsert(self, locations: Sequence[hsds.Location]) -> None:
        await _upsert_locations(self._conn, locations)

    async def get(self, location_id: UUID) -> dict[str, Any] | None:
        return await document_of_row(self._conn, "location", location_id, lock=True)

    async def usage(self, location_id: UUID) -> int:
        count: int = await self._conn.fetchval(
            "SELECT count(DISTINCT service_id) FROM service_at_location WHERE location_id = $1",
            location_id,
        )
        return count

    async def delete(self, location_id: UUID) -> bool:
        return bool(
            await self._conn.fetchval("DELETE FROM location WHERE id = $1 RETURNING 1", location_id)
        )


_STORED = "id, document, version, last_modified, agency_id, content_hash"


def stored_service(row: asyncpg.Record) -> StoredService:
    return StoredService(
        id=row["id"],
        document=row["document"],
        version=row["version"],
        last_modified=row["last_modified"],
        agency_id=row["agency_id"],
        content_hash=row["content_hash"],
    )


class SqlServices(Repository):
    async def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, Current]:
        rows = await self._conn.fetch(
            """SELECT id, version, content_hash, status FROM service
               WHERE id = ANY($1::uuid[]) FOR UPDATE""",
            list(ids),
        )
        return {r["id"]: Current(r["version"], r["content_hash"], r["status"]) for r in rows}

    async def embedding(
        self,
        *,
        organization_id: UUID | None = None,
        location_id: UUID | None = None,
        term_ids: Sequence[UUID] = (),
    ) -> list[StoredService]:
        rows = await self._conn.fetch(
            f"""SELECT {_STORED} FROM service
               WHERE organization_id = $1
                  OR id IN (SELECT service_id FROM service_at_location WHERE location_id = $2)
                  OR id IN (SELECT service_id FROM attribute
                            WHERE taxonomy_term_id = ANY($3::uuid[]))
               ORDER BY id FOR UPDATE""",
            organization_id,
            location_id,
            list(term_ids),
        )
        return [stored_service(r) for r in rows]

    async def write(self, rows: Sequence[ServiceRow]) -> dict[UUID, tuple[int, datetime]]:
        """Insert or replace services and everything linked to them; returns id -> (version, modified)."""
        if not rows:
            return {}
        written = await self._conn.fetch(
            """INSERT INTO service (id, organization_id, name, status, agency_id, accepting_referrals,
                   capacity_status, capacity_until, last_verified, content_hash, document,
                   search_a, search_b, search_c, search_d, term_ids, languages, service_areas,
                   minimum_age, maximum_age)
               SELECT r.id, r.organization_id, r.name, r.status, r.agency_id, r.accepting,
                   r.capacity, r.capacity_until, r.last_verified, r.content_hash, r.document,
                   r.a, r.b, r.c, r.d, r.term_ids::uuid[], r.languages::text[],
                   r.areas::text[], r.minimum_age, r.maximum_age
               FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, organization_id uuid, name text,
                   status text, agency_id uuid, accepting boolean, capacity text,
                   capacity_until date, last_verified date, content_hash text, document jsonb,
                   a text, b text, c text, d text, term_ids text[], languages text[],
                   areas text[], minimum_age numeric, maximum_age numeric)
               ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,
                   name = EXCLUDED.name, status = EXCLUDED.status, agency_id = EXCLUDED.agency_id,
                   accepting_referrals = EXCLUDED.accepting_referrals,
                   capacity_status = EXCLUDED.capacity_status,
                   capacity_until = EXCLUDED.capacity_until,
                   last_verified = EXCLUDED.last_verified, content_hash = EXCLUDED.content_hash,
                   document = EXCLUDED.document, search_a = EXCLUDED.search_a,
                   search_b = EXCLUDED.search_b, search_c = EXCLUDED.search_c,
                   search_d = EXCLUDED.search_d,
                   term_ids = EXCLUDED.term_ids, languages = EXCLUDED.languages,
                   service_areas = EXCLUDED.service_areas, minimum_age = EXCLUDED.minimum_age,
                   maximum_age = EXCLUDED.maximum_age, version = service.version + 1,
                   last_modified = now()
               RETURNING id, version, last_modified""",
            [_service_record(row) for row in rows],
        )
        ids = [row.service.id for row in rows]
        await self._add_to_vocabulary({word for row in rows for word in row.fields.words})
        for table in ("service_at_location", "attribute", "opening_hours"):
            await self._conn.execute(f"DELETE FROM {table} WHERE service_id = ANY($1::uuid[])", ids)
        await self._write_locations(rows)
        # one statement per table and batch (columns as arrays), not one per row
        attributes = [
            (a.id, r.service.id, a.taxonomy_term_id) for r in rows for a in r.service.attributes
        ]
        await self._conn.execute(
            """INSERT INTO attribute (id, service_id, taxonomy_term_id)
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])""",
            *_columns(attributes, 3),
        )
        hours = [(r.service.id, h) for r in rows for h in indexing.weekly_hours(r.slots)]
        await self._conn.executemany(
            """INSERT INTO opening_zone (timezone, utc_offset_min) VALUES ($1, $2)
               ON CONFLICT DO NOTHING""",
            sorted({(h.timezone, h.utc_offset_min) for _, h in hours}),
        )
        await self._conn.execute(
            """INSERT INTO opening_hours (service_id, timezone, utc_offset_min, week, valid_from,
                   valid_to)
               SELECT h.service_id, h.timezone, h.utc_offset_min, h.week::int4multirange,
                   h.valid_from, h.valid_to
               FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::date[],
                   $6::date[]) AS h(service_id, timezone, utc_offset_min, week, valid_from,
                   valid_to)""",
            *_columns(
                [
                    (sid, h.timezone, h.utc_offset_min, h.multirange(), h.valid_from, h.valid_to)
                    for sid, h in hours
                ],
                6,
            ),
        )
        return {w["id"]: (w["version"], w["last_modified"]) for w in written}

    async def _add_to_vocabulary(self, words: set[str]) -> None:
        """New words with their stems, and their deletions (`matching.deletions`) for typo
        correction."""
        ordered = sorted(words)
        new = await self._conn.fetch(
            """INSERT INTO search_word (word, stem)
               SELECT * FROM unnest($1::text[], $2::text[])
               ON CONFLICT DO NOTHING RETURNING word""",
            ordered,
            [matching.stem(w) for w in ordered],
        )
        variants = sorted(
            (variant, r["word"]) for r in new for variant in matching.deletions(r["word"])
        )
        await self._conn.execute(
            """INSERT INTO search_word_variant (variant, word)
               SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
            *_columns(variants, 2),
        )

    async def _write_locations(self, rows: Sequence[ServiceRow]) -> None:
        locations = {
            sal.location.id: sal.location
            for r in rows
            for sal in r.service.service_at_locations
            if sal.location  # one given by location_id alone stays in the document only
        }
        await _upsert_locations(self._conn, list(locations.values()))
        # by id, the last one given wins (as row-by-row upserts did)
        links = {
            sal.id: (sal.id, r.service.id, sal.location.id)
            for r in rows
            for sal in r.service.service_at_locations
            if sal.location
        }
        await self._conn.execute(
            # each link also holds its program's stems (search's "a word near a point")
            """INSERT INTO service_at_location (id, service_id, location_id, earth, search_stems)
               SELECT u.id, u.service_id, u.location_id, l.earth, strip(s.search_vector)
               FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS u(id, service_id, location_id)
               JOIN service s ON s.id = u.service_id
               LEFT JOIN location l ON l.id = u.location_id
               ON CONFLICT (id) DO UPDATE SET service_id = EXCLUDED.service_id,
                   location_id = EXCLUDED.location_id, earth = EXCLUDED.earth,
                   search_stems = EXCLUDED.search_stems""",
            *_columns(list(links.values()), 3),
        )
        # a location moved by this write moves every link to it (other services' too)
        await self._conn.execute(
            """UPDATE service_at_location sal SET earth = l.earth FROM location l
               WHERE l.id = ANY($1::uuid[]) AND sal.location_id = l.id
                 AND sal.earth IS DISTINCT FROM l.earth""",
            list(locations),
        )

    async def get(self, service_id: UUID, *, for_update: bool = False) -> StoredService | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_STORED} FROM service WHERE id = $1{lock}", service_id
        )
        return None if row is None else stored_service(row)

    async def update_capacity(
        self,
        service_id: UUID,
        document: Mapping[str, Any],
        content_hash: str,
        extension: hsds.BridgesExtension,
    ) -> tuple[int, datetime]:
        row = await self._conn.fetchrow(
            """UPDATE service SET accepting_referrals = $2, capacity_status = $3,
                   capacity_until = $4, document = $5, content_hash = $6, version = version + 1,
                   last_modified = now()
               WHERE id = $1 RETURNING version, last_modified""",
            service_id,
            extension.accepting_referrals,
            extension.capacity_status.value,
            extension.capacity_until,
            dict(document),
            content_hash,
        )
        return row["version"], row["last_modified"]

    async def of_agency(self, agency_id: UUID, *, for_update: bool = False) -> list[StoredService]:
        lock = " FOR UPDATE" if for_update else ""
        rows = await self._conn.fetch(
            f"""SELECT {_STORED} FROM service WHERE agency_id = $1 ORDER BY name, id{lock}""",
            agency_id,
        )
        return [stored_service(r) for r in rows]

    async def capacity_until_due(self, day: date, limit: int) -> list[StoredService]:
        rows = await self._conn.fetch(
            f"""SELECT {_STORED} FROM service WHERE capacity_until <= $1
                ORDER BY capacity_until, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            day,
            limit,
        )
        return [stored_service(r) for r in rows]

    async def delete(self, service_id: UUID) -> tuple[int, UUID | None] | None:
        """Remove a program; its last version and agency, or None if there was none."""
        row = await self._conn.fetchrow(
            "DELETE FROM service WHERE id = $1 RETURNING version, agency_id", service_id
        )
        return None if row is None else (row["version"], row["agency_id"])

    async def analyze(self) -> None:
        await self._conn.execute(
            "ANALYZE service, location, service_at_location, opening_hours, opening_zone, "
            "search_word, search_word_variant"
        )


def _columns(records: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns, for `unnest($1::type[], $2::type[], ...)`."""
    return [[record[i] for record in records] for i in range(width)]


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _service_record(row: ServiceRow) -> dict[str, Any]:
    s, f = row.service, row.fields
    return {
        "id": str(s.id),
        "organization_id": str(s.organization.id),
        "name": s.name,
        "status": s.status,
        "agency_id": str(s.x_bridges.agency_id) if s.x_bridges.agency_id else None,
        "accepting": s.x_bridges.accepting_referrals,
        "capacity": s.x_bridges.capacity_status.value,
        "capacity_until": _iso(s.x_bridges.capacity_until),
        "last_verified": s.x_bridges.last_verified.isoformat()
        if s.x_bridges.last_verified
        else None,
        "content_hash": row.content_hash,
        "document": row.document,
        "a": f.weight_a,
        "b": f.weight_b,
        "c": f.weight_c,
        "d": f.weight_d,
        "term_ids": [str(t) for t in f.term_ids],
        "languages": f.languages,
        "areas": f.service_areas,
        "minimum_age": s.minimum_age,
        "maximum_age": s.maximum_age,
    }


class SqlUnitOfWork(PostgresUnitOfWork, DirectoryUnitOfWork):
    """The directory unit of work on PostgreSQL: these repositories on one transaction."""

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.taxonomy = SqlTaxonomy(conn)
        self.organizations = SqlOrganizations(conn)
        self.locations = SqlLocations(conn)
        self.services = SqlServices(conn)
        self.audit = SqlAudit(conn)
        self.reviews = SqlReviews(conn)
