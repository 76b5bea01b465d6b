"""SQL for the directory tables, named by intent. Callers pass a connection (and own the transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory import dataset, hsds, indexing

# -- taxonomy ------------------------------------------------------------------------------


async def upsert_taxonomies(conn: asyncpg.Connection, taxonomies: Sequence[hsds.Taxonomy]) -> None:
    await conn.executemany(
        """INSERT INTO taxonomy (id, name, document) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document
           WHERE taxonomy.document IS DISTINCT FROM EXCLUDED.document""",
        [(t.id, t.name, t.model_dump(mode="json", exclude_none=True)) for t in taxonomies],
    )


async def upsert_taxonomy_terms(
    conn: asyncpg.Connection, terms: Sequence[hsds.TaxonomyTerm]
) -> None:
    await conn.executemany(
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


@dataclass(frozen=True)
class Terms:
    """The whole taxonomy as writes need it (it is small): read once per batch."""

    lineage: dict[UUID, list[str]]  # term id -> its name and its ancestors' names
    codes: dict[UUID, str]  # term id -> its code (or name), as events carry it


async def terms(conn: asyncpg.Connection) -> Terms:
    rows = await conn.fetch(
        "SELECT id, name, parent_id, coalesce(code, name) AS code FROM taxonomy_term"
    )
    by_id = {r["id"]: r for r in rows}
    lineage: dict[UUID, list[str]] = {}
    for term_id in by_id:
        names: list[str] = []
        current: UUID | None = term_id
        while current is not None and current in by_id and len(names) < 20:
            names.append(by_id[current]["name"])
            current = by_id[current]["parent_id"]
        lineage[term_id] = names
    return Terms(lineage, {r["id"]: r["code"] for r in rows})


async def known_references(conn: asyncpg.Connection) -> dataset.Known:
    """What references in a dataset may point at: the terms and taxonomies held."""
    terms = await conn.fetch("SELECT id, parent_id, taxonomy_id, code FROM taxonomy_term")
    taxonomies = await conn.fetch("SELECT id FROM taxonomy")
    return dataset.Known(
        {r["id"]: dataset.KnownTerm(r["parent_id"], r["taxonomy_id"], r["code"]) for r in terms},
        frozenset(r["id"] for r in taxonomies),
    )


async def list_taxonomies(
    conn: asyncpg.Connection, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        """SELECT document, count(*) OVER () AS total FROM taxonomy
           ORDER BY name, id LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )


async def list_taxonomy_terms(
    conn: asyncpg.Connection,
    *,
    parent_id: UUID | None,
    taxonomy_id: UUID | None,
    top_only: bool,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        """SELECT document, count(*) OVER () AS total FROM taxonomy_term
           WHERE ($1::uuid IS NULL OR parent_id = $1)
             AND ($2::uuid IS NULL OR taxonomy_id = $2)
             AND (NOT $3 OR parent_id IS NULL)
           ORDER BY name, id LIMIT $4 OFFSET $5""",
        parent_id,
        taxonomy_id,
        top_only,
        limit,
        offset,
    )


async def all_taxonomies(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [r["document"] for r in await conn.fetch("SELECT document FROM taxonomy ORDER BY id")]


async def all_taxonomy_terms(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    # parents before children; a term whose parent is not held (kept as given) is a root
    rows = await conn.fetch(
        """WITH RECURSIVE tree AS (
               SELECT id, document, 0 AS depth FROM taxonomy_term t
               WHERE parent_id IS NULL
                  OR NOT EXISTS (SELECT 1 FROM taxonomy_term p WHERE p.id = t.parent_id)
               UNION ALL
               SELECT t.id, t.document, tree.depth + 1 FROM taxonomy_term t
               JOIN tree ON t.parent_id = tree.id WHERE tree.depth < 50)
           SELECT document FROM tree ORDER BY depth, id"""
    )
    return [r["document"] for r in rows]


# -- organizations -------------------------------------------------------------------------


async def upsert_organizations(
    conn: asyncpg.Connection, organizations: Sequence[hsds.Organization]
) -> None:
    await conn.executemany(
        """INSERT INTO organization (id, name, document) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, document = EXCLUDED.document,
               last_modified = now()
           WHERE organization.document IS DISTINCT FROM EXCLUDED.document""",
        [(o.id, o.name, o.model_dump(mode="json", exclude_none=True)) for o in organizations],
    )


async def list_organizations(
    conn: asyncpg.Connection, modified_after: datetime | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        """SELECT document, count(*) OVER () AS total FROM organization
           WHERE $1::timestamptz IS NULL OR last_modified > $1
           ORDER BY name, id LIMIT $2 OFFSET $3""",
        modified_after,
        limit,
        offset,
    )


async def fetch_organization(conn: asyncpg.Connection, org_id: UUID) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await conn.fetchval(
        "SELECT document FROM organization WHERE id = $1", org_id
    )
    return doc


# -- services: writing ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRow:
    """A validated service ready to write: its HSDS document and what is derived from it."""

    service: hsds.Service
    document: dict[str, Any]
    content_hash: str
    fields: indexing.SearchFields
    slots: list[indexing.Slot]


async def current_versions(
    conn: asyncpg.Connection, ids: Sequence[UUID]
) -> dict[UUID, tuple[int, str]]:
    rows = await conn.fetch(
        "SELECT id, version, content_hash FROM service WHERE id = ANY($1::uuid[]) FOR UPDATE",
        list(ids),
    )
    return {r["id"]: (r["version"], r["content_hash"]) for r in rows}


async def write_services(
    conn: asyncpg.Connection, rows: Sequence[ServiceRow]
) -> dict[UUID, tuple[int, datetime]]:
    """Insert or replace services and everything linked to them; returns id -> (version, modified)."""
    if not rows:
        return {}
    written = await conn.fetch(
        """INSERT INTO service (id, organization_id, name, status, agency_id, accepting_referrals,
               capacity_status, last_verified, content_hash, document, search_a, search_b,
               search_c, search_d, term_ids, languages, service_areas,
               minimum_age, maximum_age)
           SELECT r.id, r.organization_id, r.name, r.status, r.agency_id, r.accepting,
               r.capacity, r.last_verified, r.content_hash, r.document, r.a, r.b, r.c, r.d,
               r.term_ids::uuid[], r.languages::text[], r.areas::text[],
               r.minimum_age, r.maximum_age
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, organization_id uuid, name text,
               status text, agency_id uuid, accepting boolean, capacity text,
               last_verified date, content_hash text, document jsonb, a text, b text, c text,
               d text, term_ids text[], languages text[], areas text[],
               minimum_age numeric, maximum_age numeric)
           ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,
               name = EXCLUDED.name, status = EXCLUDED.status, agency_id = EXCLUDED.agency_id,
               accepting_referrals = EXCLUDED.accepting_referrals,
               capacity_status = EXCLUDED.capacity_status,
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
    await conn.execute(
        "INSERT INTO search_word (word) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING",
        sorted({word for row in rows for word in row.fields.words}),
    )
    for table in ("service_at_location", "attribute", "opening_hours"):
        await conn.execute(f"DELETE FROM {table} WHERE service_id = ANY($1::uuid[])", ids)
    await _write_locations(conn, rows)
    await conn.executemany(
        "INSERT INTO attribute (id, service_id, taxonomy_term_id) VALUES ($1, $2, $3)",
        [(a.id, r.service.id, a.taxonomy_term_id) for r in rows for a in r.service.attributes],
    )
    hours = [(r.service.id, h) for r in rows for h in indexing.weekly_hours(r.slots)]
    await conn.executemany(
        """INSERT INTO opening_zone (timezone, utc_offset_min) VALUES ($1, $2)
           ON CONFLICT DO NOTHING""",
        sorted({(h.timezone, h.utc_offset_min) for _, h in hours}),
    )
    await conn.executemany(
        """INSERT INTO opening_hours (service_id, timezone, utc_offset_min, week, valid_from,
               valid_to) VALUES ($1, $2, $3, $4::text::int4multirange, $5, $6)""",
        [
            (service_id, h.timezone, h.utc_offset_min, h.multirange(), h.valid_from, h.valid_to)
            for service_id, h in hours
        ],
    )
    return {w["id"]: (w["version"], w["last_modified"]) for w in written}


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


async def _write_locations(conn: asyncpg.Connection, rows: Sequence[ServiceRow]) -> None:
    locations = {
        sal.location.id: sal.location
        for r in rows
        for sal in r.service.service_at_locations
        if sal.location  # one given by location_id alone stays in the document only
    }
    await conn.executemany(
        """INSERT INTO location (id, name, latitude, longitude, document, earth)
           VALUES ($1, $2, $3, $4, $5, ll_to_earth($3, $4))
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, latitude = EXCLUDED.latitude,
               longitude = EXCLUDED.longitude, document = EXCLUDED.document,
               earth = EXCLUDED.earth,
               last_modified = now()
           WHERE location.document IS DISTINCT FROM EXCLUDED.document""",
        [
            (
                loc.id,
                loc.name,
                loc.latitude,
                loc.longitude,
                loc.model_dump(mode="json", exclude_none=True),
            )
            for loc in locations.values()
        ],
    )
    await conn.executemany(
        """INSERT INTO service_at_location (id, service_id, location_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET service_id = EXCLUDED.service_id,
               location_id = EXCLUDED.location_id""",
        [
            (sal.id, r.service.id, sal.location.id)
            for r in rows
            for sal in r.service.service_at_locations
            if sal.location
        ],
    )


async def update_capacity(
    conn: asyncpg.Connection,
    service_id: UUID,
    document: dict[str, Any],
    content_hash: str,
    accepting: bool,
    capacity: str,
) -> tuple[int, datetime]:
    row = await conn.fetchrow(
        """UPDATE service SET accepting_referrals = $2, capacity_status = $3, document = $4,
               content_hash = $5, version = version + 1, last_modified = now()
           WHERE id = $1 RETURNING version, last_modified""",
        service_id,
        accepting,
        capacity,
        document,
        content_hash,
    )
    return row["version"], row["last_modified"]


async def delete_service(conn: asyncpg.Connection, service_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "DELETE FROM service WHERE id = $1 RETURNING version, agency_id", service_id
    )


async def analyze(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "ANALYZE service, location, service_at_location, opening_hours, opening_zone, search_word"
    )


# -- services: reading ---------------------------------------------------------------------


async def fetch_service(
    conn: asyncpg.Connection, service_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        "SELECT document, version, last_modified, agency_id, content_hash FROM service "
        f"WHERE id = $1{lock}",
        service_id,
    )


async def stream_services(conn: asyncpg.Connection) -> AsyncIterator[dict[str, Any]]:
    """Every service document in id order (call inside a transaction: a server-side cursor)."""
    async for row in conn.cursor("SELECT document FROM service ORDER BY id", prefetch=500):
        yield row["document"]


Sort = str  # "relevance" | "distance" | "name"


@dataclass(frozen=True)
class SearchQuery:
    """Every `GET /services` filter; all combine with AND."""

    text: str | None = None
    organization_id: UUID | None = None
    taxonomy_term_id: UUID | None = None
    taxonomy_id: UUID | None = None
    modified_after: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    language: str | None = None
    age: float | None = None
    open_at: datetime | None = None
    accepting: bool | None = None
    service_area: str | None = None
    sort: Sort = "relevance"
    limit: int = 50
    offset: int = 0

    @property
    def is_listing(self) -> bool:
        """No filter at all: the whole directory by name (not capped, walks the name index)."""
        return self == SearchQuery(sort=self.sort, limit=self.limit, offset=self.offset)


@dataclass
class _Sql:
    params: list[Any] = field(default_factory=list)

    def __call__(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


# Open at instant {t}: the local minute of the week in each zone in use (few), then, for each
# candidate service, whether one of its opening ranges holds that minute (see
# indexing.weekly_hours; indexing.slot_is_open is the reference meaning).
_CLOCK = """clock AS MATERIALIZED (
    SELECT z.timezone, z.utc_offset_min, l.lt::date AS day,
           (extract(isodow FROM l.lt)::integer - 1) * 1440
           + extract(hour FROM l.lt)::integer * 60 + extract(minute FROM l.lt)::integer AS minute
    FROM opening_zone z
    CROSS JOIN LATERAL (SELECT CASE WHEN z.timezone <> '' THEN {t} AT TIME ZONE z.timezone
        ELSE ({t} AT TIME ZONE 'UTC') + make_interval(mins => z.utc_offset_min) END AS lt) l)"""
_OPEN_RANGES = """SELECT o.service_id FROM opening_hours o JOIN clock c
        ON c.timezone = o.timezone AND c.utc_offset_min = o.utc_offset_min
    WHERE o.week @> c.minute
      AND (o.valid_from IS NULL OR c.day >= o.valid_from)
      AND (o.valid_to IS NULL OR c.day <= o.valid_to)"""
# With another selective filter, check each candidate's own hours (OFFSET 0 keeps PostgreSQL
# from turning this into a join driven by every open service); alone, look the open ones up.
_OPEN_PER_CANDIDATE = f"EXISTS ({_OPEN_RANGES} AND o.service_id = s.id OFFSET 0)"
_OPEN_SET = f"s.id IN ({_OPEN_RANGES})"

_ORDER = {
    "relevance": ("rank DESC", "name", "id"),
    "distance": ("distance NULLS LAST", "name", "id"),
    "name": ("name", "id"),
}


@dataclass
class _Search:
    """The parts of one search: CTEs, joins, conditions, and the rank and distance columns."""

    sql: _Sql = field(default_factory=_Sql)
    ctes: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    rank: str = "0::real"
    distance: str = "NULL::float8"

    def from_where(self) -> str:
        return (
            "FROM service s "
            + " ".join(self.joins)
            + (f" WHERE {' AND '.join(self.where)}" if self.where else "")
        )

    def with_ctes(self) -> str:
        return f"WITH {', '.join(self.ctes)} " if self.ctes else ""


def _search_parts(q: SearchQuery) -> _Search:
    parts = _Search()
    p, where = parts.sql, parts.where
    if q.text:
        # enough of the words, typos corrected against the vocabulary; ranked by where they are
        words = p(indexing.query_words(q.text))
        parts.ctes.append(f"query AS MATERIALIZED (SELECT search_query({words}::text[]) AS tsq)")
        parts.joins.append("CROSS JOIN query")
        where.append("s.search_vector @@ query.tsq")
        parts.rank = "ts_rank('{0.1, 0.3, 0.6, 1.0}', s.search_vector, query.tsq)"
    if q.organization_id is not None:
        where.append(f"s.organization_id = {p(q.organization_id)}")
    if q.taxonomy_term_id is not None:
        where.append(
            f"""s.term_ids && ARRAY(WITH RECURSIVE d AS (
                    SELECT id, 0 AS depth FROM taxonomy_term WHERE id = {p(q.taxonomy_term_id)}
                    UNION ALL SELECT t.id, d.depth + 1 FROM taxonomy_term t
                    JOIN d ON t.parent_id = d.id WHERE d.depth < 20)
                SELECT id FROM d)"""
        )
    if q.taxonomy_id is not None:
        where.append(
            "s.term_ids && ARRAY(SELECT id FROM taxonomy_term "
            f"WHERE taxonomy_id = {p(q.taxonomy_id)})"
        )
    if q.modified_after is not None:
        where.append(f"s.last_modified > {p(q.modified_after)}")
    if q.language:
        where.append(f"s.languages @> ARRAY[{p(indexing.fold(q.language))}]::text[]")
    if q.service_area:
        where.append(f"s.service_areas @> ARRAY[{p(indexing.fold(q.service_area))}]::text[]")
    if q.age is not None:
        age = p(q.age)
        where.append(
            f"(s.minimum_age IS NULL OR s.minimum_age <= {age})"
            f" AND (s.maximum_age IS NULL OR s.maximum_age >= {age})"
        )
    if q.accepting is not None:
        where.append(f"s.accepting_referrals = {p(q.accepting)}")
    if q.open_at is not None:
        parts.ctes.append(_CLOCK.format(t=p(q.open_at)))
        selective = any(
            value is not None
            for value in (
                q.text,
                q.organization_id,
                q.taxonomy_term_id,
                q.taxonomy_id,
                q.language,
                q.service_area,
                q.radius_km,
                q.modified_after,
            )
        )
        where.append(_OPEN_PER_CANDIDATE if selective else _OPEN_SET)
    if q.lat is not None and q.lon is not None:
        _distance(parts, q.lat, q.lon, q.radius_km)
    return parts


def _distance(parts: _Search, lat: float, lon: float, radius_km: float | None) -> None:
    p = parts.sql
    origin = f"ll_to_earth({p(lat)}, {p(lon)})"
    point = "l.earth"
    parts.distance = "near.meters"
    if radius_km is None:  # every match, with the distance of its nearest location
        parts.joins.append(
            f"""LEFT JOIN LATERAL (
                SELECT min(earth_distance({origin}, {point})) AS meters
                FROM service_at_location sal JOIN location l ON l.id = sal.location_id
                WHERE sal.service_id = s.id AND l.earth IS NOT NULL) near ON true"""
        )
        return
    meters = p(radius_km * 1000)
    parts.ctes.append(
        f"""near AS (
            SELECT sal.service_id, min(earth_distance({origin}, {point})) AS meters
            FROM location l JOIN service_at_location sal ON sal.location_id = l.id
            WHERE l.earth IS NOT NULL
              AND earth_box({origin}, {meters}) @> {point}
              AND earth_distance({origin}, {point}) <= {meters}
            GROUP BY sal.service_id)"""
    )
    parts.joins.append("JOIN near ON near.service_id = s.id")


# A search ranks, sorts and counts at most this many matches, so its cost stays flat as the
# directory grows; beyond it `total_items` says CANDIDATE_CAP and the response is marked capped.
CANDIDATE_CAP = 1000


def search_sql(q: SearchQuery) -> tuple[str, list[Any]]:
    """The one search statement (also run raw by the benchmark); every filter can use an index.

    The inner queries rank narrow rows (id, name, rank, distance) and page them; documents are
    read for the page's rows alone. Without any filter, the listing walks the name index."""
    parts = _search_parts(q)
    keys = _ORDER[q.sort if q.sort != "relevance" or q.text else "name"]
    p = parts.sql
    if q.is_listing:
        sql = (
            "SELECT s.document, NULL::float8 AS distance, "
            "(SELECT count(*) FROM service) AS total FROM service s "
            f"ORDER BY s.name, s.id LIMIT {p(q.limit)} OFFSET {p(q.offset)}"
        )
        return sql, p.params
    sql = (
        parts.with_ctes()
        + "SELECT s.document, m.distance, m.total FROM ("
        + "SELECT id, name, rank, distance, count(*) OVER () AS total FROM ("
        + f"SELECT s.id, s.name, {parts.rank} AS rank, {parts.distance} / 1000.0 AS distance "
        + f"{parts.from_where()} LIMIT {CANDIDATE_CAP}) AS matches "
        + f"ORDER BY {', '.join(keys)} LIMIT {p(q.limit)} OFFSET {p(q.offset)}"
        + ") m JOIN service s ON s.id = m.id ORDER BY "
        + ", ".join(f"m.{key}" for key in keys)
    )
    return sql, p.params


def search_count_sql(q: SearchQuery) -> tuple[str, list[Any]]:
    parts = _search_parts(q)
    cap = "" if q.is_listing else f" LIMIT {CANDIDATE_CAP}"
    sql = f"{parts.with_ctes()}SELECT count(*) FROM (SELECT 1 {parts.from_where()}{cap}) AS m"
    return sql, parts.sql.params


async def search_services(
    conn: asyncpg.Connection, q: SearchQuery
) -> tuple[int, list[tuple[dict[str, Any], float | None]]]:
    sql, params = search_sql(q)
    rows = await conn.fetch(sql, *params)
    if rows:
        total = int(rows[0]["total"])
    elif q.offset:  # a page past the end still reports the true total
        count_sql, count_params = search_count_sql(q)
        total = int(await conn.fetchval(count_sql, *count_params))
    else:
        total = 0
    return total, [(r["document"], r["distance"]) for r in rows]


async def _paged_rows(
    conn: asyncpg.Connection, sql: str, *params: Any
) -> tuple[int, list[asyncpg.Record]]:
    """Run a page query (`count(*) OVER () AS total`, ending `LIMIT $n OFFSET $m`).

    A page past the end has no rows to carry the total, so the total is counted apart."""
    rows = await conn.fetch(sql, *params)
    if rows:
        return int(rows[0]["total"]), rows
    if not params[-1]:
        return 0, []
    body = sql[: sql.rindex(" ORDER BY ")]
    return int(await conn.fetchval(f"SELECT count(*) FROM ({body}) AS matches", *params[:-2])), []


async def _paged(
    conn: asyncpg.Connection, sql: str, *params: Any
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = await _paged_rows(conn, sql, *params)
    return total, [r["document"] for r in rows]


async def list_service_at_locations(
    conn: asyncpg.Connection, modified_after: datetime | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        """SELECT jsonb_build_object('id', sal.id, 'service_id', sal.service_id,
                  'location_id', sal.location_id, 'location', l.document,
                  'service', jsonb_build_object('id', s.id, 'name', s.name)) AS document,
                  count(*) OVER () AS total
           FROM service_at_location sal
           JOIN location l ON l.id = sal.location_id
           JOIN service s ON s.id = sal.service_id
           WHERE $1::timestamptz IS NULL OR s.last_modified > $1 OR l.last_modified > $1
           ORDER BY sal.id LIMIT $2 OFFSET $3""",
        modified_after,
        limit,
        offset,
    )
