"""Whatever a tablet sends as an intake or a move, the answer is never a 5xx, and a refused
intake writes nothing."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from bridges_devstack.fuzz import FUZZ, JSON, QUERY_VALUES, as_json, query
from bridges_schema import Role


def _mutations(desk):
    """Valid intakes with one field replaced by something arbitrary."""
    fields = ["client", "needs", "situation", "urgency", "program_ids", "consent"]
    return st.tuples(st.sampled_from(fields), JSON).map(
        lambda change: {**desk.intake([desk.program_a]), change[0]: change[1]}
    )


@FUZZ
@given(data=st.data())
async def test_intakes(desk, data):
    body = data.draw(st.one_of(JSON, _mutations(desk)))
    before = await desk.pool.fetchval("SELECT count(*) FROM referral")
    async with desk.client(Role.OFFICER) as c:
        request = as_json(body)
        request["headers"]["Idempotency-Key"] = uuid.uuid4().hex
        response = await c.post("/referrals", **request)
    assert response.status_code < 500, (body, response.text)
    if response.status_code != 201:
        assert response.headers["content-type"] == "application/problem+json"
        assert await desk.pool.fetchval("SELECT count(*) FROM referral") == before


@FUZZ
@given(body=JSON, if_match=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=10))
async def test_moves(desk, body, if_match):
    referral = await desk.pool.fetchval("SELECT id FROM referral LIMIT 1")
    if referral is None:
        referral = (await desk.file())["referrals"][0]["id"]
    async with desk.client(Role.AGENCY_STAFF) as c:
        request = as_json(body)
        request["headers"]["If-Match"] = if_match
        response = await c.post(f"/referrals/{referral}/transitions", **request)
    assert response.status_code < 500, (body, if_match, response.text)


LISTINGS = {
    Role.AGENCY_STAFF: ("/inbox", ["status", "urgency", "program_id", "overdue", "sort", "cursor"]),
    Role.OFFICER: ("/referrals", ["mine", "status", "urgency", "overdue", "sort", "cursor"]),
    Role.ADMIN: ("/audit", ["referral_id", "actor_id", "action", "before_id", "limit"]),
}


@FUZZ
@given(
    role=st.sampled_from(list(LISTINGS)),
    data=st.data(),
)
async def test_listing_parameters(desk, role, data):
    path, names = LISTINGS[role]
    params = data.draw(st.dictionaries(st.sampled_from(names), QUERY_VALUES, max_size=4))
    async with desk.client(role) as c:
        response = await c.get(f"{path}?{query(params)}")
    assert response.status_code < 500, (params, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
