"""Whatever an admin's client sends as an endpoint, or ops as delivery filters, the answer is
never a 5xx, and a refused endpoint stores nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridges_devstack.fuzz import FUZZ, JSON, QUERY_VALUES, TEXT, as_json, query
from bridges_schema import Role

URLS = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "https://hooks.example.org/x",
            "http://127.0.0.1:1/x",
            "https://[::1]/x",
            "https://u:p@93.184.216.34/",
            "http://h:99999/",
            "https://" + "a" * 64 + ".org/",
            "https://exa mple.org/",
        ]
    ),
)
ENDPOINTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"url": URLS},
        optional={"description": TEXT, "event_types": st.lists(TEXT, max_size=3), "enabled": JSON},
    ),
)


@FUZZ
@given(body=ENDPOINTS)
async def test_endpoint_bodies(desk, body):
    before = await desk.pool.fetchval("SELECT count(*) FROM endpoint")
    async with desk.client(Role.ADMIN) as c:
        response = await c.post(f"/agencies/{desk.agency}/endpoints", **as_json(body))
    assert response.status_code < 500, (body, response.text)
    if response.status_code != 201:
        assert response.headers["content-type"] == "application/problem+json"
        assert await desk.pool.fetchval("SELECT count(*) FROM endpoint") == before


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "endpoint_id", "channel", "event_id", "limit"]),
        QUERY_VALUES,
        max_size=4,
    )
)
async def test_delivery_filters(desk, params):
    async with desk.client(Role.OPS) as c:
        response = await c.get(f"/deliveries?{query(params)}")
    assert response.status_code < 500, (params, response.text)
