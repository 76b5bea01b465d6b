"""Whatever a client sends to the public search and the import, the answer is never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_devstack.fuzz import FUZZ, JSON, QUERY_VALUES, as_json, query
from bridges_schema import Role

PARAMS = [
    "search",
    "taxonomy_term_id",
    "taxonomy_id",
    "organization_id",
    "modified_after",
    "lat",
    "lon",
    "radius_km",
    "language",
    "age",
    "open_now",
    "open_at",
    "accepting",
    "service_area",
    "sort",
    "minimal",
    "page",
    "per_page",
]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(PARAMS), QUERY_VALUES, max_size=6))
async def test_search_parameters(seeded, params):
    async with seeded.client() as c:
        response = await c.get(f"/services?{query(params)}")
    assert response.status_code < 500, (params, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


@FUZZ
@given(
    body=st.one_of(
        JSON,
        st.fixed_dictionaries({"services": st.lists(JSON, max_size=3)}),
        st.lists(st.fixed_dictionaries({"id": st.uuids().map(str), "name": JSON}), max_size=3),
    )
)
async def test_import_bodies(directory, infra, body):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post("/import", **as_json(body))
    assert response.status_code < 500, (body, response.text)
    if response.status_code == 422:
        assert response.json()["errors"]
    assert await directory.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 0 or (
        response.status_code == 200
    )


async def test_an_import_body_nested_too_deeply_is_a_400(directory, infra):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post("/import", content="[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["q", "limit"]), QUERY_VALUES, max_size=2))
async def test_place_parameters(seeded, params):
    async with seeded.client() as c:
        response = await c.get(f"/places?{query(params)}")
    assert response.status_code < 500, (params, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "45.5", "lon": "-122.6", "radius_km": "1e-320"},
        {"lat": "1e-320", "lon": "5e-324", "radius_km": "5"},
        {"lat": "1e-320", "lon": "5e-324", "sort": "distance"},
        {"age": "1e-320"},
        {"lat": "45.5", "lon": "-122.6", "radius_km": "2.2250738585072014e-308"},
    ],
    ids=["radius", "origin", "origin-sorted", "age", "smallest-normal"],
)
async def test_numbers_too_small_to_compute_with_are_refused_or_answered(seeded, params):
    async with seeded.client() as c:
        response = await c.get("/services", params=params)
    assert response.status_code in (200, 422), (params, response.text)
    if response.status_code == 422:
        assert response.headers["content-type"] == "application/problem+json"
        assert any(e["location"][-1] in params for e in response.json()["errors"])
