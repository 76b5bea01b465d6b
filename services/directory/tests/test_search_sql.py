"""The search statement builder (pure): each filter becomes its condition with its own numbered
parameter, sorting and capping follow the query, and the count agrees with the search."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_directory import indexing
from bridges_directory.search_sql import (
    CANDIDATE_CAP,
    CELLS_UP_TO_KM,
    OPEN_PROBE_ROWS,
    RANKED_CAP,
    SearchQuery,
    open_probe,
    search_count_sql,
    search_sql,
)

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TERM = uuid.uuid4()


def placeholders(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


@pytest.mark.parametrize(
    ("query", "fragment", "value"),
    [
        (SearchQuery(organization_id=TERM), "s.organization_id =", TERM),
        (SearchQuery(taxonomy_term_id=TERM), "WITH RECURSIVE d", TERM),
        (SearchQuery(taxonomy_id=TERM), "taxonomy_id =", TERM),
        (SearchQuery(modified_after=AT), "s.last_modified >", AT),
        (SearchQuery(language="Español"), "s.languages @>", "espanol"),
        (SearchQuery(service_area="Riverton"), "s.service_areas @>", "riverton"),
        (SearchQuery(age=4), "s.minimum_age IS NULL OR s.minimum_age <=", 4),
        (SearchQuery(accepting=True), "s.accepting_referrals =", True),
        (SearchQuery(open_at=AT), "o.week @> c.minute", AT),
        (SearchQuery(lat=45.0, lon=-123.0, radius_km=5), "earth_box(", 5000.0),
    ],
)
def test_each_filter_adds_its_condition_and_its_value(query, fragment, value):
    sql, params = search_sql(query)
    assert fragment in sql
    assert value in params
    assert placeholders(sql) == set(range(1, len(params) + 1))  # numbered, none unused


def test_words_take_candidates_tier_by_tier_and_rank_each_word_by_where_it_is():
    sql, params = search_sql(SearchQuery(text="food bank for a family"))
    # food, bank, family: all three, then any
    assert sql.count("UNION ALL") == 1 and sql.count(f"LIMIT {RANKED_CAP}") == 1
    tiers = [p for p in params if isinstance(p, str) and p.count("'food'") and p.count("'bank'")]
    assert tiers[0].count("&") == 2 and "&" not in tiers[-1]
    assert "'comida'" in tiers[0]  # a synonym counts as the word
    assert sql.count("CASE WHEN NOT s.search_vector @@") == 3 * 2  # a score per word and tier
    assert placeholders(sql) == set(range(1, len(params) + 1))


def test_a_query_of_stop_words_only_matches_nothing():
    sql, _ = search_sql(SearchQuery(text="of the and"))
    assert "WHERE false" in sql


def test_open_now_alone_probes_some_services_then_looks_the_open_ones_up():
    probed, _ = search_sql(SearchQuery(open_at=AT))
    looked_up, _ = search_sql(SearchQuery(open_at=AT), probe=False)
    counted, _ = search_count_sql(SearchQuery(open_at=AT))
    assert f"(SELECT * FROM service LIMIT {OPEN_PROBE_ROWS}) s" in probed
    assert "EXISTS (SELECT o.service_id" in probed
    for sql in (looked_up, counted):
        assert "s.id IN (SELECT o.service_id" in sql and "EXISTS (" not in sql
    assert open_probe(SearchQuery(open_at=AT, accepting=True, age=4))
    assert not open_probe(SearchQuery(open_at=AT, text="shelter"))


def test_open_now_with_a_selective_filter_checks_each_candidate():
    narrowed, _ = search_sql(SearchQuery(open_at=AT, text="shelter"))
    assert "EXISTS (SELECT o.service_id" in narrowed and "OFFSET 0" in narrowed
    assert "LIMIT 5000" not in narrowed


def test_a_search_ranks_at_most_the_candidate_cap_but_a_plain_listing_is_not_capped():
    searched, _ = search_sql(SearchQuery(text="food"))
    listing, _ = search_sql(SearchQuery(sort="name", offset=40))
    assert f"LIMIT {RANKED_CAP}" in searched
    assert f"LIMIT {CANDIDATE_CAP}" in search_sql(SearchQuery(text="food", sort="name"))[0]
    assert str(CANDIDATE_CAP) not in listing and "ORDER BY s.name, s.id" in listing
    assert SearchQuery(sort="name", offset=40).is_listing
    assert not SearchQuery(accepting=False).is_listing


@pytest.mark.parametrize(
    ("query", "order"),
    [
        (SearchQuery(text="food"), "m.rank DESC, m.name, m.id"),
        (SearchQuery(accepting=True), "m.name, m.id"),  # no words: relevance means name
        (SearchQuery(lat=1, lon=2, sort="distance"), "m.distance NULLS LAST, m.name, m.id"),
        (SearchQuery(text="food", sort="name"), "m.name, m.id"),
    ],
)
def test_the_order_follows_the_sort_and_is_total(query, order):
    sql, _ = search_sql(query)
    assert sql.endswith(f"ORDER BY {order}")


def test_without_a_radius_every_match_gets_the_distance_of_its_nearest_location():
    sql, _ = search_sql(SearchQuery(lat=45.0, lon=-123.0))
    assert "LEFT JOIN LATERAL" in sql and "earth_box" not in sql


QUERIES = st.builds(
    SearchQuery,
    text=st.none() | st.sampled_from(["food", "conseling for teens", "a b c d e f g h i j"]),
    taxonomy_term_id=st.none() | st.just(TERM),
    language=st.none() | st.just("es"),
    age=st.none() | st.floats(0, 130),
    open_at=st.none() | st.just(AT),
    accepting=st.none() | st.booleans(),
    lat=st.none() | st.just(45.0),
    lon=st.just(-123.0),
    radius_km=st.none() | st.floats(0.1, 500),
    sort=st.sampled_from(["relevance", "name"]),
    limit=st.integers(1, 200),
    offset=st.integers(0, 10_000),
)


@given(QUERIES)
def test_any_query_numbers_its_parameters_and_counts_what_it_searches(query):
    sql, params = search_sql(query)
    count_sql, count_params = search_count_sql(query)
    assert placeholders(sql) == set(range(1, len(params) + 1))
    assert placeholders(count_sql) == set(range(1, len(count_params) + 1))
    assert count_params == params[: len(count_params)]  # the same filters, without the paging


def _destination(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point `km` from (lat, lon) along `bearing` (degrees), on earthdistance's sphere."""
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    angle = km * 1000 / indexing.EARTH_METERS
    phi2 = math.asin(
        math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(angle) * math.cos(phi),
        math.cos(angle) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    radius_km=st.floats(0.01, CELLS_UP_TO_KM),
    bearing=st.floats(0, 360),
    share=st.floats(0, 1),
)
def test_the_cells_around_a_point_hold_every_point_within_the_radius(
    lat, lon, radius_km, bearing, share
):
    around = set(indexing.search_cells(lat, lon, radius_km * 1000))
    # the cells that meet the surface, not the whole box: each lies in a slab 2√3 cells thick
    # around the disc (grown by a cell's diagonal), so their number grows as the disc's area
    # (at most ~190 at 50 km, where the box has 1,331)
    cell_km = indexing.CELL_METERS / 1000
    diagonal = math.sqrt(3) * cell_km
    assert len(around) <= 2 * diagonal * math.pi * (radius_km + diagonal) ** 2 / cell_km**3
    there = _destination(lat, lon, bearing, radius_km * share)
    assert set(indexing.search_cells(*there, 0)) & around


def test_a_word_near_a_point_reads_the_cells_up_to_a_radius_and_the_box_beyond():
    near = {"text": "counseling", "lat": 45.0, "lon": -123.0}
    sql, _ = search_sql(SearchQuery(**near, radius_km=CELLS_UP_TO_KM))
    assert "sal.cells &&" in sql and "earth_box(" not in sql
    sql, _ = search_sql(SearchQuery(**near, radius_km=CELLS_UP_TO_KM + 1))
    assert "sal.cells &&" not in sql and "earth_box(" in sql
    sql, _ = search_sql(SearchQuery(lat=45.0, lon=-123.0, radius_km=5))  # no words
    assert "sal.cells &&" not in sql and "earth_box(" in sql
