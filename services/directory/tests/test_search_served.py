"""What search serves when PostgreSQL writes the results (full or minimal documents, distances),
which words typo correction leaves alone, and "open now" alone whether the open services are
probed for or looked up, over the demo county through real HTTP and PostgreSQL."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from bridges_directory import indexing, matching, queries, search_sql
from bridges_directory.corrections import Corrections
from bridges_directory.hsds import Service
from bridges_directory.lexicon import LEXICON
from bridges_directory.search_sql import MINIMAL_FIELDS
from bridges_directory.seed import demo_county

SERVICES = [Service.model_validate(s) for s in demo_county.build()["services"]]
WEDNESDAY_MORNING = "2026-11-25T11:00:00-08:00"


async def _search(directory, **params):
    async with directory.client() as c:
        response = await c.get("/services", params={"per_page": 200, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def test_full_results_are_the_stored_documents(seeded):
    page = await _search(seeded, search="food")
    assert page["contents"]
    async with seeded.client() as c:
        for served in page["contents"][:5]:
            detail = (await c.get(f"/services/{served['id']}")).json()
            assert served == {k: v for k, v in detail.items() if k != "last_modified"}


async def test_minimal_results_keep_the_minimal_fields_and_gain_the_distance(seeded):
    town = demo_county.TOWNS["pine-hollow"]
    near = {"lat": town.latitude, "lon": town.longitude, "radius_km": 3, "sort": "distance"}
    full = await _search(seeded, **near)
    minimal = await _search(seeded, **near, minimal="true")
    assert [s["id"] for s in minimal["contents"]] == [s["id"] for s in full["contents"]]
    for small, whole in zip(minimal["contents"], full["contents"], strict=True):
        assert set(small) == {k for k in MINIMAL_FIELDS if k in whole} | {"x_bridges"}
        assert {k: small[k] for k in MINIMAL_FIELDS if k in whole} == {
            k: whole[k] for k in MINIMAL_FIELDS if k in whole
        }
        assert small["x_bridges"] == whole["x_bridges"]
        assert 0 <= whole["x_bridges"]["distance_km"] <= 3
        assert round(whole["x_bridges"]["distance_km"], 3) == whole["x_bridges"]["distance_km"]
    plain = await _search(seeded, search="food", full="false")
    assert plain["contents"] and all(
        set(s) <= set(MINIMAL_FIELDS) and "x_bridges" not in s for s in plain["contents"]
    )


async def _concepts(directory, text: str) -> list[matching.Concept]:
    corrections = Corrections(LEXICON)
    async with directory.runtime.pool.acquire() as conn:
        return await queries.resolve_words(conn, corrections, text)


async def test_stop_words_and_codes_are_not_corrected_into_other_words(seeded):
    # "with" is not in the vocabulary, "withdrawal" is (Withdrawal Management Unit)
    assert await _concepts(seeded, "with") == []
    found = await _concepts(seeded, "food with family")
    assert [c.word for c in found] == ["food", "family"]
    assert not any("withdraw" in c.stems for c in found)
    (code,) = await _concepts(seeded, "97123")
    assert code.stems == {"97123"}
    (typo,) = await _concepts(seeded, "conseling")
    assert "counsel" in typo.typos  # typos still are


def test_the_vocabulary_leaves_out_words_with_digits():
    fields = indexing.search_fields(
        Service.model_validate({**demo_county.build()["services"][0], "name": "Pantry 2024 B12"}),
        {},
    )
    assert "pantry" in fields.words
    assert not any(any(c.isdigit() for c in word) for word in fields.words)


def _open_at(at: str) -> set[str]:
    instant = datetime.fromisoformat(at)
    return {s.name for s in SERVICES if indexing.is_open(indexing.opening_slots(s), instant)}


@pytest.mark.parametrize("probe_rows", [5000, 1], ids=["probe finds enough", "too few: lookup"])
async def test_open_now_alone_beyond_the_cap_serves_open_services_only(
    seeded, monkeypatch, probe_rows
):
    reference = _open_at(WEDNESDAY_MORNING)
    cap = 3
    assert len(reference) > cap
    monkeypatch.setattr(search_sql, "CANDIDATE_CAP", cap)
    monkeypatch.setattr(queries, "CANDIDATE_CAP", cap)
    monkeypatch.setattr(search_sql, "OPEN_PROBE_ROWS", probe_rows)
    async with seeded.client() as c:
        response = await c.get("/services", params={"open_at": WEDNESDAY_MORNING})
    page = response.json()
    names = {s["name"] for s in page["contents"]}
    assert page["total_items"] == cap and len(names) == cap
    assert names <= reference
    assert "Bridges-Results-Capped" in response.headers


async def test_open_now_alone_under_the_cap_is_exact_and_a_page_past_the_end_counts_it(seeded):
    reference = _open_at(WEDNESDAY_MORNING)
    page = await _search(seeded, open_at=WEDNESDAY_MORNING)
    assert {s["name"] for s in page["contents"]} == reference
    beyond = await _search(seeded, open_at=WEDNESDAY_MORNING, page=5)
    assert beyond["empty"] and beyond["total_items"] == len(reference)


def _program(number: int, location: dict) -> dict:
    return {
        "id": f"7a1f8c55-3a57-4c39-9d8c-8f3a1c8e{number:04d}",
        "name": f"Moved Site Program {number}",
        "status": "active",
        "organization": {"id": "7a1f8c55-3a57-4c39-9d8c-8f3a1c8e9999", "name": "Moving Org"},
        "service_at_locations": [
            {"id": f"7a1f8c55-3a57-4c39-9d8c-8f3a1c8f{number:04d}", "location": location}
        ],
    }


async def test_a_location_moved_by_another_programs_write_moves_both_programs(seeded, infra):
    from bridges_schema import Role

    site = {"id": "7a1f8c55-3a57-4c39-9d8c-8f3a1c8e0100", "latitude": 10.0, "longitude": 20.0}
    moved = {**site, "latitude": 10.5}  # about 55 km north
    async with seeded.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=_program(1, site))).status_code == 201
        assert (await c.post("/services", json=_program(2, moved))).status_code == 201
    for lat, wanted in [(10.5, {"Moved Site Program 1", "Moved Site Program 2"}), (10.0, set())]:
        page = await _search(seeded, lat=lat, lon=20.0, radius_km=1, sort="distance")
        assert {s["name"] for s in page["contents"]} == wanted, lat
    page = await _search(seeded, lat=10.5, lon=20.0, sort="distance", per_page=2)
    assert [s["x_bridges"]["distance_km"] for s in page["contents"]] == [0, 0]


async def test_the_radius_includes_its_boundary_and_not_beyond(seeded, infra):
    from bridges_schema import Role

    site = {"id": "7a1f8c55-3a57-4c39-9d8c-8f3a1c8e0200", "latitude": -30.0, "longitude": 40.0}
    async with seeded.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=_program(3, site))).status_code == 201
    # 0.1 degree of latitude north of the site: about 11.1 km away
    page = await _search(seeded, lat=-29.9, lon=40.0, radius_km=12, sort="distance")
    (found,) = page["contents"]
    distance = found["x_bridges"]["distance_km"]
    assert 11 < distance < 11.2
    assert (await _search(seeded, lat=-29.9, lon=40.0, radius_km=distance + 0.001))["contents"]
    assert not (await _search(seeded, lat=-29.9, lon=40.0, radius_km=distance - 0.01))["contents"]


async def _names_of(directory, **params) -> set[str]:
    return {s["name"] for s in (await _search(directory, **params))["contents"]}


@pytest.mark.parametrize("radius_km", [0.5, 3, 9.99, 10.01, 25, 120])
@pytest.mark.parametrize("word", ["food", "counseling", "clinica salud", "shelter for a family"])
async def test_a_word_near_a_point_is_the_word_and_the_point_each_alone(seeded, word, radius_km):
    # the sites holding a word are read from the grid's cells around the point: the same
    # programs as the word alone within the radius alone, however the circle meets the cells
    for town in demo_county.TOWNS.values():
        near = {"lat": town.latitude, "lon": town.longitude, "radius_km": radius_km}
        both = await _names_of(seeded, search=word, **near)
        assert both == await _names_of(seeded, search=word) & await _names_of(seeded, **near)


def _km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(math.radians(v) for v in p) for p in (a, b))
    cos = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return indexing.EARTH_METERS * math.acos(min(1.0, cos)) / 1000


@pytest.mark.parametrize(
    ("number", "site", "origin"),
    [
        (300, (0.0, 179.96), (0.0, -179.97)),  # across the date line
        (301, (-12.0, -179.99), (-12.05, 179.95)),
        (302, (89.95, 10.0), (89.95, -170.0)),  # across the north pole
        (303, (-89.97, 100.0), (-89.96, -80.0)),
    ],
)
async def test_a_word_near_a_point_across_the_date_line_and_the_poles(
    seeded, infra, number, site, origin
):
    from bridges_schema import Role

    location = {
        "id": f"7a1f8c55-3a57-4c39-9d8c-8f3a1c8e{number:04d}",
        "latitude": site[0],
        "longitude": site[1],
    }
    program = {**_program(number, location), "description": "Wilderness rescue kennel"}
    async with seeded.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=program)).status_code == 201
    km = _km_between(site, origin)
    for radius_km, found in [(km + 0.5, {program["name"]}), (km - 0.5, set())]:
        near = {"lat": origin[0], "lon": origin[1], "radius_km": radius_km}
        assert await _names_of(seeded, search="kennel", **near) == found, radius_km


async def test_a_word_near_a_point_follows_a_programs_new_words_and_its_moved_site(seeded, infra):
    from bridges_schema import Role

    site = {"id": "7a1f8c55-3a57-4c39-9d8c-8f3a1c8e0400", "latitude": 20.0, "longitude": 30.0}
    program = {**_program(400, site), "description": "Falconry lessons"}
    near = {"lat": 20.0, "lon": 30.0, "radius_km": 2}
    async with seeded.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=program)).status_code == 201
        assert await _names_of(seeded, search="falconry", **near) == {program["name"]}
        renamed = {**program, "description": "Archery lessons"}
        assert (await c.put(f"/services/{program['id']}", json=renamed)).status_code == 200
        assert await _names_of(seeded, search="falconry", **near) == set()
        assert await _names_of(seeded, search="archery", **near) == {program["name"]}
        # another program's write moves the shared site 55 km north
        other = _program(401, {**site, "latitude": 20.5})
        assert (await c.post("/services", json=other)).status_code == 201
    assert await _names_of(seeded, search="archery", **near) == set()
    north = {**near, "lat": 20.5}
    assert await _names_of(seeded, search="archery", **north) == {program["name"]}


async def test_postgresql_puts_a_point_in_the_cell_python_covers_it_with(seeded):
    # indexing.search_cells and migration 080's search_cell number the same grid
    points = [(lat / 7, lon / 3) for lat in range(-629, 630, 37) for lon in range(-539, 540, 41)]
    async with seeded.runtime.pool.acquire() as conn:
        cells = await conn.fetch(
            "SELECT search_cell(ll_to_earth(p.lat, p.lon)) AS cell"
            " FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lat, lon, n) ORDER BY n",
            [lat for lat, _ in points],
            [lon for _, lon in points],
        )
    for (lat, lon), row in zip(points, cells, strict=True):
        # (two cells, or more, when the point is within a metre of a cell's side)
        assert row["cell"] in indexing.search_cells(lat, lon, 0), (lat, lon)
