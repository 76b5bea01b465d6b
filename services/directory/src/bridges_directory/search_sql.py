"""The directory's search as SQL (pure: builds the statement, runs nothing). Every `GET /services`
filter becomes a condition that can use an index; results are ranked, sorted and counted over
at most `CANDIDATE_CAP` candidates, so a search costs the same in a small and a huge directory.
`indexing` holds the reference meaning of each filter (folding, words, opening hours).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from bridges_directory import indexing, matching
from bridges_directory.lexicon import LEXICON
from bridges_kit.sql import Params

Sort = Literal["relevance", "distance", "name"]


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
# from turning this into a join driven by every open service). Alone, looking every open service
# up costs in proportion to how many are open (half a region by day); so first the services
# are probed in turn, OPEN_PROBE_ROWS of them at most, which finds CANDIDATE_CAP open ones at
# once by day; only when fewer are open (at night) are the open ones looked up (`probe=False`).
_OPEN_PER_CANDIDATE = f"EXISTS ({_OPEN_RANGES} AND o.service_id = s.id OFFSET 0)"
_OPEN_SET = f"s.id IN ({_OPEN_RANGES})"
OPEN_PROBE_ROWS = 5000

_ORDER = {
    "relevance": ("rank DESC", "name", "id"),
    "distance": ("distance NULLS LAST", "name", "id"),
    "name": ("name", "id"),
}


@dataclass
class _Search:
    """The parts of one search: CTEs, joins, conditions, and the rank and distance columns;
    with words, the tiers of candidates (see `_words`), each a condition of its own."""

    sql: Params = field(default_factory=Params)
    ctes: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    rank: str = "0"
    distance: str = "NULL::float8"
    source: str = "service s"

    def from_where(self, *extra: str) -> str:
        where = [*self.where, *extra]
        return (
            f"FROM {self.source} "
            + " ".join(self.joins)
            + (f" WHERE {' AND '.join(where)}" if where else "")
        )

    def branches(self) -> list[str]:
        """The FROM and WHERE of each tier: its condition and not the tier before's."""
        if not self.tiers:
            return [self.from_where()]
        return [
            self.from_where(tier, *([f"NOT {self.tiers[i - 1]}"] if i else []))
            for i, tier in enumerate(self.tiers)
        ]

    def with_ctes(self) -> str:
        return f"WITH {', '.join(self.ctes)} " if self.ctes else ""


# Programs holding every word of a query, when the words are common, are found sooner by
# reading programs in turn than through the GIN index, which reads every posting of every word
# (and their synonyms') before giving the first: 300 of "legal aid" among the first 8,000 of
# ~120k programs in 0.7 ms, against 6.5 ms by the index (timed by hand). So when the words' shares (from
# PostgreSQL's statistics, `words_share`) promise a third more than the cap among the first
# WORDS_PROBE_ROWS programs, those are read first; the cap found there, they are exactly the
# candidates the index would give (both read in the table's order; tier 2 is never reached).
WORDS_PROBE_ROWS = 8000


def words_share(concepts: Sequence[matching.Concept], shares: Mapping[str, float]) -> float:
    """The share of programs holding every concept, as PostgreSQL estimates it: a concept's
    stems (`shares`: each common stem's share of programs; a stem not there is rare, taken as
    none) as independent alternatives, the concepts as independent of each other."""
    share = 1.0
    for concept in concepts:
        missing = 1.0
        for stem in concept.stems:
            missing *= 1.0 - shares.get(stem, 0.0)
        share *= 1.0 - missing
    return share


def words_probe(
    q: SearchQuery, concepts: Sequence[matching.Concept] | None, shares: Mapping[str, float]
) -> bool:
    """Whether to read the first WORDS_PROBE_ROWS programs for the cap of candidates holding
    every word first: words alone (no other filter or place to thin them out), two or more of them
    (one word alone is already read in turn when common), common enough together."""
    alone = replace(q, text=None).is_listing
    if not q.text or not concepts or len(concepts) < 2 or not alone:
        return False
    expected = words_share(concepts, shares) * WORDS_PROBE_ROWS
    return expected >= candidate_cap(q) * 4 / 3


def open_probe(q: SearchQuery) -> bool:
    """Whether the search is "open at" with no other selective filter (see OPEN_PROBE_ROWS)."""
    return q.open_at is not None and not _selective(q)


def _selective(q: SearchQuery) -> bool:
    return any(
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


def _tsquery(stems: Collection[str], weights: str = "") -> str:
    suffix = f":{weights}" if weights else ""
    return " | ".join(
        "'" + s.replace("\\", "\\\\").replace("'", "''") + "'" + suffix for s in sorted(stems)
    )


# Each concept's part of the rank (`matching.concept_score`): the (kind, weight) pairs by what
# they add, best first; pairs adding the same go in one arm.
_VALUES = {v for scores in matching.FIELD_SCORE.values() for v in scores.values()}
_ARMS = [
    (
        value,
        [
            (k, w)
            for k, scores in matching.FIELD_SCORE.items()
            for w in scores
            if scores[w] == value
        ],
    )
    for value in sorted(_VALUES, reverse=True)
]


def _any(concept: matching.Concept) -> str:
    return f"({_tsquery(sorted(concept.stems))})"


def _words(parts: _Search, concepts: Sequence[matching.Concept], probe: bool = False) -> None:
    """Programs matching any concept, in two tiers: those matching all of them first, then
    those matching any. ("At least half" would rank long sentences better past the cap, but
    PostgreSQL's GIN index evaluates such a query, every combination, for every program that
    matches any word: 40 ms at 20k programs.)"""
    if not concepts:
        parts.where.append("false")  # nothing but stop words
        return
    anys = [_any(c) for c in concepts]
    if len(concepts) == 1:
        # Seen by the planner: a common word is found by testing programs in turn (enough hold
        # it among the first few thousand), a rare one by reading the GIN index.
        parts.tiers.append(f"s.search_vector @@ {parts.sql(anys[0])}::tsquery")
        return
    # All of them: from a materialized row, so PostgreSQL cannot guess how many programs hold
    # them all and reads the GIN index (bounded by the words' postings). Seen, it multiplies
    # the words' shares, expects thousands and tests every program in turn until it has
    # enough: 170 ms at 120k programs when none holds them all ("comida y violencia").
    every = parts.sql(" & ".join(anys))
    parts.ctes.append(f"words AS MATERIALIZED (SELECT {every}::tsquery AS every)")
    parts.joins.insert(0, "CROSS JOIN words")
    parts.tiers.append("s.search_vector @@ words.every")
    if probe:  # every word, among the first programs only (see WORDS_PROBE_ROWS)
        parts.source = f"(SELECT * FROM service LIMIT {WORDS_PROBE_ROWS}) s"
        return
    # Any of them: seen by the planner, as one word is.
    parts.tiers.append(f"s.search_vector @@ {parts.sql(' | '.join(anys))}::tsquery")


def _rank(parts: _Search, concepts: Sequence[matching.Concept]) -> None:
    """The rank `matching.rank` gives, from the stems each weight of a program holds."""
    p = parts.sql
    scores = []
    for concept in concepts:
        stems = concept.by_kind()
        arms = []
        for value, pairs in _ARMS:
            tsq = " | ".join(
                f"({_tsquery(stems[kind], weight)})" for kind, weight in pairs if stems[kind]
            )
            if tsq:
                arms.append((value, tsq))
        whens = " ".join(
            f"WHEN s.search_vector @@ {p(tsq)}::tsquery THEN {matching.COVERAGE + value}"
            for value, tsq in arms[:-1]
        )
        last = matching.COVERAGE + arms[-1][0]
        scores.append(
            f"(CASE WHEN NOT s.search_vector @@ {p(_any(concept))}::tsquery THEN 0 {whens} "
            f"ELSE {last} END)"
        )
    parts.rank = " + ".join(scores) or "0"


def _search_parts(
    q: SearchQuery,
    concepts: Sequence[matching.Concept] | None = None,
    probe: bool = True,
    ranked: bool = True,
    words_probe: bool = False,
) -> _Search:
    parts = _Search()
    p, where = parts.sql, parts.where
    if q.text and concepts is None:
        concepts = LEXICON.concepts(q.text)
    if q.text and concepts is not None:
        _words(parts, concepts, words_probe)
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
        if _selective(q):
            where.append(_OPEN_PER_CANDIDATE)
        elif probe:
            parts.source = f"(SELECT * FROM service LIMIT {OPEN_PROBE_ROWS}) s"
            where.append(_OPEN_PER_CANDIDATE)
        else:
            where.append(_OPEN_SET)
    if q.lat is not None and q.lon is not None:
        words = [stem for c in concepts or () for stem in c.stems] if q.text else None
        _distance(parts, q.lat, q.lon, q.radius_km, words)
    if ranked and q.text and q.sort == "relevance" and concepts:
        _rank(parts, concepts)
    return parts


# Beyond this radius the cells around a point are too many to list (thousands at 100 km), and
# a word near a point is looked for in the radius's box.
CELLS_UP_TO_KM = 50


def _distance(
    parts: _Search, lat: float, lon: float, radius_km: float | None, words: list[str] | None
) -> None:
    """`words`: with a radius, only the sites whose program holds one of them are measured."""
    p = parts.sql
    origin = f"ll_to_earth({p(lat)}, {p(lon)})"
    point = "sal.earth"  # each link carries its location's point
    parts.distance = "near.meters"
    if radius_km is None:  # every match, with the distance of its nearest location
        parts.joins.append(
            f"""LEFT JOIN LATERAL (
                SELECT min(earth_distance({origin}, {point})) AS meters
                FROM service_at_location sal
                WHERE sal.service_id = s.id AND sal.earth IS NOT NULL) near ON true"""
        )
        return
    meters = p(radius_km * 1000)
    # Where to look: the sites in the circle's box (from the GiST index, thousands at 25 km in a
    # town); with words, the sites holding one of them in the grid's cells around the point,
    # from one GIN index (two posting lists intersected: a tenth as many). Only those are
    # measured.
    sites = (
        "sal.earth IS NOT NULL"
        f" AND sal.cells && {p(indexing.search_cells(lat, lon, radius_km * 1000))}::bigint[]"
        f" AND sal.search_stems @@ {p(_tsquery(sorted(set(words))))}::tsquery"
        if words and radius_km <= CELLS_UP_TO_KM
        else f"sal.earth IS NOT NULL AND earth_box({origin}, {meters}) @> {point}"
    )
    # each site's distance computed once (OFFSET 0 keeps the filter and the minimum from
    # computing it again), then the services with a site in the circle
    parts.ctes.append(
        f"""near AS (
            SELECT d.service_id, min(d.meters) AS meters FROM (
                SELECT sal.service_id, earth_distance({origin}, {point}) AS meters
                FROM service_at_location sal
                WHERE {sites}
                OFFSET 0) AS d
            WHERE d.meters <= {meters}
            GROUP BY d.service_id)"""
    )
    parts.joins.append("JOIN near ON near.service_id = s.id")


# A search ranks, sorts and counts at most this many matches, so its cost stays flat as the
# directory grows; beyond it `total_items` says the cap and the response is marked capped.
CANDIDATE_CAP = 1000
# Ranking by words costs a few tests of each candidate's words per query word (about 10 µs a
# candidate for a sentence): words sorted by relevance rank this many, the best tier first.
RANKED_CAP = 300


def candidate_cap(q: SearchQuery) -> int:
    return RANKED_CAP if q.text and q.sort == "relevance" else CANDIDATE_CAP


# What a result is served as (`item`, JSON text PostgreSQL writes; Python passes it through):
# the HSDS document, or its minimal fields, with `x_bridges.distance_km` when near a place.
# The whole document is written once, with it (`served`, migration 090).
_SERVED = "s.served"
MINIMAL_FIELDS = ("id", "name", "alternate_name", "description", "organization_id", "status")
_MINIMAL = (
    "(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(s.document) AS e "
    f"WHERE e.key IN ({', '.join(repr(f) for f in MINIMAL_FIELDS)}))"
)
_WITH_DISTANCE = """{doc} || jsonb_build_object('x_bridges',
    coalesce(s.document -> 'x_bridges', '{{}}'::jsonb)
    || jsonb_build_object('distance_km', round(m.distance::numeric, 3)))"""


def _item(q: SearchQuery, minimal: bool) -> str:
    doc = _MINIMAL if minimal else "s.document"
    if q.lat is None or q.lon is None:
        return f"({doc})::text AS item" if minimal else f"{_SERVED} AS item"
    served = _WITH_DISTANCE.format(doc=doc)
    return f"(CASE WHEN m.distance IS NULL THEN {doc} ELSE {served} END)::text AS item"


def search_sql(
    q: SearchQuery,
    *,
    concepts: Sequence[matching.Concept] | None = None,
    minimal: bool = False,
    probe: bool = True,
    words_probe: bool = False,
) -> tuple[str, list[Any]]:
    """The one search statement (also run raw by the benchmark); every filter can use an index.

    `concepts`: the words of `q.text` with their typos corrected (`queries.resolve_words`);
    without them, the words are taken as they are. The inner queries take at most
    `candidate_cap(q)` candidates, tier by tier (all the words, then any), and rank narrow
    rows (id, name, rank, distance) and page them; documents are read (and written as JSON text)
    for the page's rows alone. Without any filter, the listing walks the name index. With
    `open_probe(q)`, a total under CANDIDATE_CAP means the probe saw too few open services:
    search again with `probe=False`. With `words_probe` (see WORDS_PROBE_ROWS), only the
    candidates holding every word among the first programs: fewer than the cap, search again
    without it."""
    parts = _search_parts(q, concepts, probe, words_probe=words_probe)
    keys = _ORDER[q.sort if q.sort != "relevance" or q.text else "name"]
    p = parts.sql
    if q.is_listing:
        sql = (
            f"SELECT {_item(q, minimal)}, "
            "(SELECT count(*) FROM service) AS total FROM service s "
            f"ORDER BY s.name, s.id LIMIT {p(q.limit)} OFFSET {p(q.offset)}"
        )
        return sql, p.values
    candidates = " UNION ALL ".join(
        f"(SELECT s.id, s.name, {parts.rank} AS rank, {parts.distance} / 1000.0 AS distance "
        f"{branch})"
        for branch in parts.branches()
    )
    sql = (
        parts.with_ctes()
        + f"SELECT {_item(q, minimal)}, m.total FROM ("
        + "SELECT id, name, rank, distance, count(*) OVER () AS total FROM ("
        + f"{candidates} LIMIT {candidate_cap(q)}) AS matches "
        + f"ORDER BY {', '.join(keys)} LIMIT {p(q.limit)} OFFSET {p(q.offset)}"
        + ") m JOIN service s ON s.id = m.id ORDER BY "
        + ", ".join(f"m.{key}" for key in keys)
    )
    return sql, p.values


def search_count_sql(
    q: SearchQuery, concepts: Sequence[matching.Concept] | None = None
) -> tuple[str, list[Any]]:
    parts = _search_parts(q, concepts, probe=False, ranked=False)
    cap = "" if q.is_listing else f" LIMIT {candidate_cap(q)}"
    branches = " UNION ALL ".join(f"(SELECT 1 {branch})" for branch in parts.branches())
    sql = f"{parts.with_ctes()}SELECT count(*) FROM ({branches}{cap}) AS m"
    return sql, parts.sql.values
