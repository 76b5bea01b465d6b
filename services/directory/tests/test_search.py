"""Search over the demo county through real HTTP and PostgreSQL: every filter alone and combined,
typos and accents, open-now across time zones and midnight, paging, and index use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from bridges_directory import indexing, search_sql
from bridges_directory.hsds import Service
from bridges_directory.seed import demo_county

PROGRAMS = {p.name: p for p in demo_county.PROGRAMS}
DATA = demo_county.build()
SERVICES = [Service.model_validate(s) for s in DATA["services"]]
TERM_IDS = {t["code"]: t["id"] for t in DATA["taxonomy_terms"]}


async def _names(directory, **params) -> list[str]:
    async with directory.client() as c:
        response = await c.get("/services", params={"per_page": 200, **params})
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()["contents"]]


def _expected(predicate) -> set[str]:
    return {p.name for p in demo_county.PROGRAMS if predicate(p)}


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("foodbank", "Riverton Community Food Bank"),
        ("conseling", "Sliding-Scale Counseling"),
        ("clínica", "Clínica del Valle Salud Mental"),
        ("clinica", "Clínica del Valle Salud Mental"),
        ("CLINICA SALUD", "Clínica del Valle Salud Mental"),
        ("eviction lawyer", "Eviction Defense Clinic"),
        ("detox", "Withdrawal Management Unit"),
    ],
)
async def test_typos_and_accents_find_the_right_program_first(seeded, query, wanted):
    names = await _names(seeded, search=query)
    assert names, f"{query!r} found nothing"
    assert names[0] == wanted, f"{query!r} ranked {names[:3]}"


async def test_a_sentence_ranks_programs_matching_most_of_it_first(seeded):
    names = await _names(
        seeded, search="food bank near me for a family with a toddler, Spanish", per_page=3
    )
    assert names[0] in {"Riverton Community Food Bank", "Alder Diaper Bank"}
    assert all("es" in PROGRAMS[n].languages for n in names[:2])


async def test_taxonomy_term_includes_its_descendants(seeded):
    food = await _names(seeded, taxonomy_term_id=TERM_IDS["food"])
    assert set(food) == _expected(
        lambda p: any(t.split(".")[0] == "food" for t in (p.term, *p.extra_terms))
    )
    pantry = await _names(seeded, taxonomy_term_id=TERM_IDS["food.pantry"])
    assert set(pantry) == _expected(lambda p: "food.pantry" in (p.term, *p.extra_terms))
    assert set(pantry) < set(food)


async def test_language_by_code_or_name(seeded):
    spanish = _expected(lambda p: "es" in p.languages)
    assert set(await _names(seeded, language="es")) == spanish
    assert set(await _names(seeded, language="Español")) == spanish
    assert set(await _names(seeded, language="vietnamese")) == _expected(
        lambda p: "vi" in p.languages
    )


async def test_age_accepting_and_service_area(seeded):
    def serves(p, age):
        low, high = p.ages
        return (low is None or low <= age) and (high is None or high >= age)

    assert set(await _names(seeded, age=4)) == _expected(lambda p: serves(p, 4))
    assert set(await _names(seeded, age=40)) == _expected(lambda p: serves(p, 40))
    assert set(await _names(seeded, accepting="false")) == _expected(lambda p: not p.accepting)
    assert set(await _names(seeded, service_area="pine hollow")) == _expected(
        lambda p: p.town == "pine-hollow"
    )


async def test_distance_filter_and_sort_carry_distances(seeded):
    town = demo_county.TOWNS["pine-hollow"]
    async with seeded.client() as c:
        response = await c.get(
            "/services",
            params={
                "lat": town.latitude,
                "lon": town.longitude,
                "radius_km": 3,
                "sort": "distance",
            },
        )
    contents = response.json()["contents"]
    assert {s["name"] for s in contents} == _expected(lambda p: p.town == "pine-hollow")
    distances = [s["x_bridges"]["distance_km"] for s in contents]
    assert distances == sorted(distances)
    assert all(0 <= d <= 3 for d in distances)
    # without a radius every program is listed, nearest first, the far ones last
    everything = await _names(seeded, lat=town.latitude, lon=town.longitude, sort="distance")
    assert len(everything) == len(SERVICES)
    assert set(everything[: len(contents)]) == {s["name"] for s in contents}


def _open_at_reference(at: datetime) -> set[str]:
    return {s.name for s in SERVICES if indexing.is_open(indexing.opening_slots(s), at)}


async def test_open_at_matches_the_reference_across_days_midnight_and_dst(seeded):
    start = datetime(2026, 3, 6, 0, 30, tzinfo=UTC)  # spans the US switch to summer time
    instants = [start + timedelta(hours=h * 7, minutes=h * 13) for h in range(40)]
    some_open = 0
    for at in instants:
        names = set(await _names(seeded, open_at=at.isoformat()))
        assert names == _open_at_reference(at), at
        some_open += bool(names)
    assert 0 < some_open < len(instants) or some_open == len(instants)


async def test_open_now_across_time_zones_and_midnight(seeded, infra):
    from bridges_schema import Role

    tokyo = {
        "id": "6f1f8c55-3a57-4c39-9d8c-8f3a1c8e0001",
        "name": "Shinjuku Night Help Desk",
        "status": "active",
        "organization": {"id": "6f1f8c55-3a57-4c39-9d8c-8f3a1c8e0002", "name": "Tokyo Aid"},
        "service_at_locations": [
            {
                "id": "6f1f8c55-3a57-4c39-9d8c-8f3a1c8e0003",
                "location": {
                    "id": "6f1f8c55-3a57-4c39-9d8c-8f3a1c8e0004",
                    "x_bridges": {"timezone": "Asia/Tokyo"},
                },
                "schedules": [
                    {
                        "id": "6f1f8c55-3a57-4c39-9d8c-8f3a1c8e0005",
                        "freq": "WEEKLY",
                        "byday": "FR",
                        "opens_at": "22:00",
                        "closes_at": "02:00",
                    }
                ],
            }
        ],
    }
    async with seeded.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=tokyo)).status_code == 201
    # Friday 23:30 and Saturday 01:30 in Tokyo are open; Saturday 02:30 and Friday 21:00 are not
    for local, is_open in [
        ("2026-11-27T23:30:00+09:00", True),
        ("2026-11-28T01:30:00+09:00", True),
        ("2026-11-28T02:30:00+09:00", False),
        ("2026-11-27T21:00:00+09:00", False),
    ]:
        names = await _names(seeded, open_at=local, search="Shinjuku")
        assert ("Shinjuku Night Help Desk" in names) is is_open, local
    # the winter warming center (19:00-07:00 every night, Los Angeles) is open at 03:00 there
    night = await _names(seeded, open_at="2026-11-25T03:00:00-08:00")
    assert "Winter Warming Center" in night
    assert "Riverton Community Food Bank" not in night
    before = _open_at_reference(datetime.now(UTC))
    async with seeded.client() as c:
        now = await c.get("/services", params={"open_now": "true"})
    after = _open_at_reference(datetime.now(UTC))
    assert now.status_code == 200
    names = {s["name"] for s in now.json()["contents"]} - {"Shinjuku Night Help Desk"}
    assert names in (before, after)


async def test_filters_combine_with_and(seeded):
    at = "2026-11-25T11:00:00-08:00"  # a Wednesday morning in Alder County
    names = set(
        await _names(
            seeded,
            taxonomy_term_id=TERM_IDS["food"],
            language="es",
            accepting="true",
            open_at=at,
        )
    )
    expected = {
        s.name
        for s in SERVICES
        if s.name in _expected(lambda p: "es" in p.languages and p.accepting)
        and s.name in set(await _names(seeded, taxonomy_term_id=TERM_IDS["food"]))
        and indexing.is_open(indexing.opening_slots(s), datetime.fromisoformat(at))
    }
    assert names == expected
    assert "Riverton Community Food Bank" in names


async def test_paging_is_stable_and_totals_consistent(seeded):
    seen: list[str] = []
    async with seeded.client() as c:
        first = (await c.get("/services", params={"per_page": 7, "sort": "name"})).json()
        total, pages = first["total_items"], first["total_pages"]
        assert total == len(SERVICES) and pages == -(-total // 7)
        for page in range(1, pages + 1):
            body = (await c.get("/services", params={"per_page": 7, "page": page})).json()
            assert body["total_items"] == total
            assert body["first_page"] is (page == 1) and body["last_page"] is (page == pages)
            seen += [s["id"] for s in body["contents"]]
        beyond = (await c.get("/services", params={"per_page": 7, "page": pages + 1})).json()
        searched = (await c.get("/services", params={"search": "food", "page": 50})).json()
    assert len(seen) == len(set(seen)) == total
    assert beyond["empty"] and beyond["total_items"] == total
    assert searched["empty"] and searched["total_items"] > 0


async def test_bad_parameters_are_problems(seeded):
    async with seeded.client() as c:
        for params in [
            {"lat": 45},
            {"radius_km": 5},
            {"sort": "distance"},
            {"lat": 91, "lon": 0},
            {"age": -1},
            {"sort": "price"},
            {"open_at": "yesterday"},
            {"per_page": 0},
        ]:
            response = await c.get("/services", params=params)
            assert response.status_code in (400, 422), params
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "query",
    [
        search_sql.SearchQuery(text="conseling for teens"),
        search_sql.SearchQuery(taxonomy_term_id=UUID(TERM_IDS["food"])),
        search_sql.SearchQuery(language="es", sort="name"),
        search_sql.SearchQuery(lat=45.0, lon=-123.0, radius_km=5),
        search_sql.SearchQuery(service_area="riverton"),
    ],
    ids=["text", "taxonomy", "language", "distance", "area"],
)
async def test_each_search_can_run_on_indexes_alone(seeded, query):
    sql, params = search_sql.search_sql(query)
    async with seeded.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *params))
    assert "Seq Scan on service " not in plan and "Seq Scan on location" not in plan, plan
