"""The directory's read side: search, the HSDS lists with paging, one program, and the export
stream. Reads only, on the pool."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from bridges_directory import hsds, indexing, lexicon, matching
from bridges_directory.corrections import Corrections
from bridges_directory.domain import (
    LocationNotFound,
    OrganizationNotFound,
    ServiceNotFound,
    StoredService,
    TermNotFound,
)
from bridges_directory.repository import TERM_NAMES, SqlServices, document_of_row
from bridges_directory.search_sql import (
    CANDIDATE_CAP,
    SearchQuery,
    candidate_cap,
    open_probe,
    search_count_sql,
    search_sql,
    words_probe,
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
    search: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        f"""SELECT document, count(*) OVER () AS total FROM taxonomy_term
           WHERE ($1::text IS NULL OR {_CONTAINS.format("name || ' ' || coalesce(code, '')")})
             AND ($2::uuid IS NULL OR parent_id = $2)
             AND ($3::uuid IS NULL OR taxonomy_id = $3)
             AND (NOT $4 OR parent_id IS NULL)
           ORDER BY name, id LIMIT $5 OFFSET $6""",
        search,
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


# `search` on a list: the words as typed, anywhere in the name (case forgiven; `position`, not
# LIKE, so % and _ are plain characters)
_CONTAINS = "position(lower($1::text) in lower({})) > 0"


async def list_organizations(
    conn: asyncpg.Connection,
    modified_after: datetime | None,
    limit: int,
    offset: int,
    search: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    return await _paged(
        conn,
        f"""SELECT document, count(*) OVER () AS total FROM organization
           WHERE ($1::text IS NULL OR {_CONTAINS.format("name")})
             AND ($2::timestamptz IS NULL OR last_modified > $2)
           ORDER BY name, id LIMIT $3 OFFSET $4""",
        search,
        modified_after,
        limit,
        offset,
    )


async def list_locations(
    conn: asyncpg.Connection, search: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """Locations by name or address (`place_text`: their physical addresses' words)."""
    return await _paged(
        conn,
        f"""SELECT document, count(*) OVER () AS total FROM location
           WHERE $1::text IS NULL
              OR {_CONTAINS.format("coalesce(name, '') || ' ' || place_text")}
           ORDER BY name, id LIMIT $2 OFFSET $3""",
        search,
        limit,
        offset,
    )


async def fetch_organization(conn: asyncpg.Connection, org_id: UUID) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await conn.fetchval(
        "SELECT document FROM organization WHERE id = $1", org_id
    )
    return doc


async def stream_services(conn: asyncpg.Connection) -> AsyncIterator[dict[str, Any]]:
    """Every service document in id order (call inside a transaction: a server-side cursor)."""
    async for row in conn.cursor("SELECT document FROM service ORDER BY id", prefetch=500):
        yield row["document"]


# A short word's deletions can be shared by many stems: the exact check keeps the few that are
# a typo away, and this bounds what it reads.
TYPO_CANDIDATES_MAX = 2000


def vocabulary_lookup(conn: asyncpg.Connection) -> Any:
    """`corrections.Lookup` on this connection: which stems are known, and the vocabulary's
    words sharing a deletion with the query's words (both by index, whatever the size)."""

    async def lookup(stems: list[str], variants: list[str]) -> tuple[set[str], set[str]]:
        rows = await conn.fetch(
            f"""SELECT DISTINCT stem AS value, true AS known FROM search_word
                WHERE stem = ANY($1::text[])
                UNION ALL
                (SELECT DISTINCT word, false FROM search_word_variant
                 WHERE variant = ANY($2::text[]) LIMIT {TYPO_CANDIDATES_MAX})""",
            stems,
            variants,
        )
        known = {r["value"] for r in rows if r["known"]}
        return known, {r["value"] for r in rows if not r["known"]}

    return lookup


async def resolve_words(
    conn: asyncpg.Connection, corrections: Corrections, text: str
) -> list[matching.Concept]:
    """The concepts of a query's text, typos corrected against the vocabulary."""
    return await corrections.correct(corrections.lexicon.concepts(text), vocabulary_lookup(conn))


async def lexicon_document(conn: asyncpg.Connection) -> bytes:
    rows = await conn.fetch(f"SELECT id, code, parent_id, {TERM_NAMES} AS names FROM taxonomy_term")
    terms = [
        lexicon.Term(
            str(r["id"]),
            r["code"],
            str(r["parent_id"]) if r["parent_id"] else None,
            r["names"],
        )
        for r in rows
    ]
    return lexicon.document(terms, indexing.LANGUAGE_NAMES, indexing.AGE_BANDS)


async def search_services(
    conn: asyncpg.Connection,
    q: SearchQuery,
    concepts: Sequence[matching.Concept] | None = None,
    *,
    minimal: bool = False,
    shares: WordShares | None = None,
) -> tuple[int, list[str]]:
    """The total and the page's results, each as the JSON text it is served as. With
    `shares`, every word of common words is first looked for among the first programs."""
    if shares is not None and concepts:
        found = await among_first_programs(conn, q, concepts, shares, minimal=minimal)
        if found is not None:
            return int(found[0]["total"]), [r["item"] for r in found]
    sql, params = search_sql(q, concepts=concepts, minimal=minimal)
    rows = await conn.fetch(sql, *params)
    if open_probe(q) and (not rows or rows[0]["total"] < CANDIDATE_CAP):
        # few open: look them up
        sql, params = search_sql(q, concepts=concepts, minimal=minimal, probe=False)
        rows = await conn.fetch(sql, *params)
    if rows:
        total = int(rows[0]["total"])
    elif q.offset:  # a page past the end still reports the true total
        count_sql, count_params = search_count_sql(q, concepts)
        total = int(await conn.fetchval(count_sql, *count_params))
    else:
        total = 0
    return total, [r["item"] for r in rows]


async def among_first_programs(
    conn: asyncpg.Connection,
    q: SearchQuery,
    concepts: Sequence[matching.Concept],
    shares: WordShares,
    *,
    minimal: bool = False,
) -> list[asyncpg.Record] | None:
    """The page of a search whose words `shares` says to look for among the first programs,
    when the cap of candidates holding them all is there; None otherwise (the index's turn),
    and words that came up short are noted."""
    if not await shares.probe(conn, q, concepts):
        return None
    sql, params = search_sql(q, concepts=concepts, minimal=minimal, words_probe=True)
    rows = await conn.fetch(sql, *params)
    if rows and rows[0]["total"] >= candidate_cap(q):
        return list(rows)
    if rows or not q.offset:  # (a page past the end says nothing of how many)
        shares.came_up_short(concepts)
    return None


class WordShares:
    """Each common stem's share of programs, from PostgreSQL's statistics of the search index
    (`pg_stats`, as fresh as the last ANALYZE; read again every `refresh_s`), deciding which
    searches read the first programs for every word first (`search_sql.words_probe`); and the
    words for which that came up short lately, left to the index for `refresh_s`. The
    estimate takes words as independent, and some are not: "child", "abuse" and "food" are
    each common and rarely together."""

    def __init__(self, refresh_s: float = 600.0) -> None:
        self.refresh_s = refresh_s
        self._shares: dict[str, float] = {}
        self._read_at = -math.inf
        self._short: dict[frozenset[frozenset[str]], float] = {}

    async def probe(
        self, conn: asyncpg.Connection, q: SearchQuery, concepts: Sequence[matching.Concept]
    ) -> bool:
        now = time.monotonic()
        if now - self._read_at > self.refresh_s:
            self._read_at = now
            self._shares = await self._read(conn)
        if self._short.get(self._key(concepts), -math.inf) > now:
            return False
        return words_probe(q, concepts, self._shares)

    def came_up_short(self, concepts: Sequence[matching.Concept]) -> None:
        self._short[self._key(concepts)] = time.monotonic() + self.refresh_s
        if len(self._short) > SHORT_KEPT:
            now = time.monotonic()
            self._short = {k: until for k, until in self._short.items() if until > now}

    @staticmethod
    def _key(concepts: Sequence[matching.Concept]) -> frozenset[frozenset[str]]:
        return frozenset(c.stems for c in concepts)

    @staticmethod
    async def _read(conn: asyncpg.Connection) -> dict[str, float]:
        row = await conn.fetchrow(
            """SELECT most_common_elems::text::text[] AS stems,
                      most_common_elem_freqs AS shares
               FROM pg_stats
               WHERE schemaname = current_schema() AND tablename = 'service'
                 AND attname = 'search_vector'"""
        )
        if row is None or row["stems"] is None:
            return {}
        # the frequencies end with three more figures (least, most, nulls): zip stops first
        return dict(zip(row["stems"], row["shares"], strict=False))


# queries whose probe came up short, remembered at most (more: the expired are let go)
SHORT_KEPT = 10_000


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
    conn: asyncpg.Connection,
    modified_after: datetime | None,
    limit: int,
    offset: int,
    location_id: UUID | None = None,
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
           WHERE ($1::timestamptz IS NULL OR s.last_modified > $1 OR l.last_modified > $1)
             AND ($2::uuid IS NULL OR sal.location_id = $2)
           ORDER BY sal.id LIMIT $3 OFFSET $4""",
        modified_after,
        location_id,
        limit,
        offset,
    )


# -- what the API serves -------------------------------------------------------------------


async def get_service(pool: asyncpg.Pool, service_id: UUID) -> StoredService:
    async with pool.acquire() as conn:
        stored = await SqlServices(conn).get(service_id)
    if stored is None:
        raise ServiceNotFound(f"no service with id {service_id}")
    return stored


@dataclass(frozen=True)
class SearchResult:
    page: bytes  # the HSDS page as JSON, its results written by PostgreSQL
    capped: int | None  # more matched than a search ranks (this many): narrow it


class Gauge(Protocol):
    """What counts the searches in line (a Prometheus gauge)."""

    def inc(self) -> None: ...
    def dec(self) -> None: ...


class SearchTurns:
    """Searches take turns at the database: at most `at_once` run together, the others wait in
    line, first come first served. A search is PostgreSQL working on one core; more at once
    than its cores only share them, so every search in the crowd takes longer and the slowest
    the longest (timed by hand on 2 cores, 8 clients: p99 61 ms with 10 at once, 53 with 4,
    the same searches a second). The line is in this process, so the pool stays free for other work."""

    def __init__(self, at_once: int, waiting: Gauge) -> None:
        self._turns = asyncio.Semaphore(at_once)
        self._waiting = waiting

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        self._waiting.inc()
        try:
            await self._turns.acquire()
        finally:
            self._waiting.dec()
        try:
            yield
        finally:
            self._turns.release()


@dataclass(frozen=True)
class Searches:
    """What a directory process keeps for its searches."""

    corrections: Corrections  # typo decisions
    turns: SearchTurns
    shares: WordShares


async def search(
    pool: asyncpg.Pool,
    searches: Searches,
    query: SearchQuery,
    *,
    page: int,
    minimal: bool = False,
) -> SearchResult:
    async with searches.turns.turn(), pool.acquire() as conn:
        concepts = (
            await resolve_words(conn, searches.corrections, query.text) if query.text else None
        )
        total, items = await search_services(
            conn, query, concepts, minimal=minimal, shares=searches.shares
        )
    cap = candidate_cap(query)
    capped = cap if total >= cap and not query.is_listing else None
    return SearchResult(hsds.page_json(items, total, page, query.limit), capped)


async def search_lexicon(pool: asyncpg.Pool) -> bytes:
    async with pool.acquire() as conn:
        return await lexicon_document(conn)


async def organizations(
    pool: asyncpg.Pool,
    modified_after: datetime | None,
    page: int,
    per_page: int,
    search: str | None = None,
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await list_organizations(
            conn, modified_after, per_page, (page - 1) * per_page, search
        )
    return hsds.Page.of(docs, total, page, per_page)


async def locations(pool: asyncpg.Pool, search: str | None, page: int, per_page: int) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await list_locations(conn, search, per_page, (page - 1) * per_page)
    return hsds.Page.of(docs, total, page, per_page)


async def location(pool: asyncpg.Pool, location_id: UUID) -> dict[str, Any]:
    document = await document_of_row(pool, "location", location_id)
    if document is None:
        raise LocationNotFound(f"no location with id {location_id}")
    return document


async def taxonomy_term(pool: asyncpg.Pool, term_id: UUID) -> dict[str, Any]:
    document = await document_of_row(pool, "taxonomy_term", term_id)
    if document is None:
        raise TermNotFound(f"no taxonomy term with id {term_id}")
    return document


@dataclass(frozen=True)
class Agency:
    """An agency as the directory knows it: the `x_bridges.agency_id` its programs' referrals go
    to, named by its programs' organization."""

    agency_id: UUID
    name: str
    programs: int
    active_programs: int


async def agencies(pool: asyncpg.Pool, search: str | None) -> list[Agency]:
    rows = await pool.fetch(
        f"""SELECT s.agency_id, mode() WITHIN GROUP (ORDER BY o.name) AS name,
                   count(*) AS programs, count(*) FILTER (WHERE s.status = 'active') AS active
            FROM service s JOIN organization o ON o.id = s.organization_id
            WHERE s.agency_id IS NOT NULL AND ($1::text IS NULL OR {_CONTAINS.format("o.name")})
            GROUP BY s.agency_id ORDER BY name, s.agency_id LIMIT 1000""",
        search,
    )
    return [Agency(r["agency_id"], r["name"], r["programs"], r["active"]) for r in rows]


async def organization(pool: asyncpg.Pool, org_id: UUID) -> dict[str, Any]:
    async with pool.acquire() as conn:
        doc = await fetch_organization(conn, org_id)
    if doc is None:
        raise OrganizationNotFound(f"no organization with id {org_id}")
    return doc


async def service_at_locations(
    pool: asyncpg.Pool,
    modified_after: datetime | None,
    page: int,
    per_page: int,
    location_id: UUID | None = None,
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await list_service_at_locations(
            conn, modified_after, per_page, (page - 1) * per_page, location_id
        )
    return hsds.Page.of(docs, total, page, per_page)


async def taxonomies(pool: asyncpg.Pool, page: int, per_page: int) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await list_taxonomies(conn, per_page, (page - 1) * per_page)
    return hsds.Page.of(docs, total, page, per_page)


async def taxonomy_terms(
    pool: asyncpg.Pool,
    *,
    parent_id: UUID | None,
    taxonomy_id: UUID | None,
    top_only: bool,
    page: int,
    per_page: int,
    search: str | None = None,
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await list_taxonomy_terms(
            conn,
            parent_id=parent_id,
            taxonomy_id=taxonomy_id,
            top_only=top_only,
            limit=per_page,
            offset=(page - 1) * per_page,
            search=search,
        )
    return hsds.Page.of(docs, total, page, per_page)


async def export_dataset(pool: asyncpg.Pool) -> AsyncIterator[bytes]:
    """The whole directory as one HSDS JSON object, streamed (re-imports losslessly)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        yield b'{"taxonomies":' + json.dumps(await all_taxonomies(conn)).encode()
        yield b',"taxonomy_terms":' + json.dumps(await all_taxonomy_terms(conn)).encode()
        yield b',"services":['
        first = True
        async for document in stream_services(conn):
            yield (b"" if first else b",") + json.dumps(document).encode()
            first = False
        yield b"]}"
