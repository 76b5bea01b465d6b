"""Taxonomy terms carry their names in other languages (`x_bridges.names`): listed as HSDS with
them, exported and re-imported, searched with the programs they classify; a malformed one is
refused like any invalid record."""

from __future__ import annotations

from bridges_schema import Role

TERM = {
    "id": "5b0e9c55-3a57-4c39-9d8c-8f3a1c8e0001",
    "code": "food.test",
    "name": "Grocery Vouchers",
    "x_bridges": {"names": {"es": "Vales de despensa", "vi": "Phiếu thực phẩm"}},
}
SERVICE = {
    "id": "5b0e9c55-3a57-4c39-9d8c-8f3a1c8e0002",
    "name": "Voucher Desk",
    "status": "active",
    "organization": {"id": "5b0e9c55-3a57-4c39-9d8c-8f3a1c8e0003", "name": "Test Org"},
    "attributes": [{"id": "5b0e9c55-3a57-4c39-9d8c-8f3a1c8e0004", "taxonomy_term_id": TERM["id"]}],
}


async def test_a_terms_names_are_listed_exported_and_searched(directory, infra):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        imported = await c.post("/import", json={"taxonomy_terms": [TERM], "services": [SERVICE]})
        assert imported.status_code == 200, imported.text
        (listed,) = (await c.get("/taxonomy_terms")).json()["contents"]
        exported = (await c.get("/export")).json()
        found = (await c.get("/services", params={"search": "vales"})).json()["contents"]
        lexicon = (await c.get("/search/lexicon")).json()
    assert listed["name"] == "Grocery Vouchers" and listed["x_bridges"] == TERM["x_bridges"]
    assert exported["taxonomy_terms"][0]["x_bridges"] == TERM["x_bridges"]
    assert [s["name"] for s in found] == ["Voucher Desk"]
    (term,) = lexicon["terms"]
    assert term["names"] == {"en": "Grocery Vouchers", **TERM["x_bridges"]["names"]}


async def test_a_malformed_name_is_refused_and_changes_nothing(directory, infra):
    bad = {**TERM, "x_bridges": {"names": {"Spanish!": "x"}, "colour": "red"}}
    async with directory.client(infra.token(Role.ADMIN)) as c:
        refused = await c.post("/import", json={"taxonomy_terms": [bad], "services": []})
        listed = (await c.get("/taxonomy_terms")).json()
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    paths = {e["path"] for e in refused.json()["errors"]}
    assert any("x_bridges" in p for p in paths), paths
    assert listed["total_items"] == 0
