"""What search serves when PostgreSQL writes the results (full or minimal documents, distances),
which words typo correction leaves alone, and "open now" alone whether the open services are
probed for or looked up, over the demo county through real HTTP and PostgreSQL."""

from __future__ import annotations

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
