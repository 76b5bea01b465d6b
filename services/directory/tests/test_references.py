"""References between HSDS objects that a dataset may leave unresolved: each one is either
kept as given (and reported under `warnings` with its JSON path) or refused with a 422 naming
its path, never a 500 — over real HTTP and PostgreSQL, for `POST /import` and `POST /services`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bridges_schema import Role


def _id() -> str:
    return str(uuid.uuid4())


def _term(**fields: Any) -> dict[str, Any]:
    return {"id": _id(), "name": "Food Pantry", "description": "Groceries.", **fields}


def _service(*attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id(),
        "name": "Riverton Food Pantry",
        "description": "Groceries to take home.",
        "status": "active",
        "organization": {"id": _id(), "name": "Riverton Aid", "description": "x"},
        "attributes": list(attributes),
    }


async def _post(directory, infra, path: str, body: Any):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        # json.dumps escapes what httpx's own encoder would refuse (lone surrogates)
        return await c.post(
            path, content=json.dumps(body), headers={"content-type": "application/json"}
        )


async def _search_by_term(directory, term_id: str) -> list[str]:
    async with directory.client() as c:
        page = (await c.get("/services", params={"taxonomy_term_id": term_id})).json()
    return [s["id"] for s in page["contents"]]


async def test_an_attribute_takes_its_term_id_from_the_embedded_term(directory, infra):
    term = _term()
    service = _service({"id": _id(), "taxonomy_term": term})  # HSDS: only `id` is required
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    async with directory.client() as c:
        stored = (await c.get(f"/services/{service['id']}")).json()
    assert stored["attributes"][0]["taxonomy_term_id"] == term["id"]
    assert await _search_by_term(directory, term["id"]) == [service["id"]]

    single = _service({"id": _id(), "taxonomy_term": term})
    assert (await _post(directory, infra, "/services", single)).status_code == 201


async def test_an_attribute_with_neither_term_nor_term_id_is_kept_unclassified(directory, infra):
    service = _service({"id": _id(), "value": "wheelchair accessible"})
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 200, response.text
    async with directory.client() as c:
        stored = (await c.get(f"/services/{service['id']}")).json()
    assert stored["attributes"] == [
        {**service["attributes"][0], "link_id": service["id"], "link_entity": "service"}
    ]


async def test_a_term_whose_parent_is_unknown_is_kept_with_a_warning(directory, infra):
    parent = _id()
    child = _term(parent_id=parent)
    service = _service({"id": _id(), "taxonomy_term_id": child["id"]})
    body = {"taxonomy_terms": [child], "services": [service]}
    response = await _post(directory, infra, "/import", body)
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        {
            "path": "$.taxonomy_terms[0].parent_id",
            "message": f"parent term {parent} is neither in the dataset nor in the directory; "
            "kept as given",
        }
    ]
    async with directory.client() as c:
        terms = (await c.get("/taxonomy_terms")).json()["contents"]
        exported = (await c.get("/export")).json()
    assert [t["parent_id"] for t in terms] == [parent]  # the document keeps it as given
    assert exported["taxonomy_terms"][0]["parent_id"] == parent
    assert await _search_by_term(directory, child["id"]) == [service["id"]]

    # once the parent arrives (alone), searching by it finds the child's services
    parent_term = _term(id=parent, name="Food")
    again = await _post(directory, infra, "/import", {"taxonomy_terms": [parent_term]})
    assert again.status_code == 200, again.text
    assert again.json()["warnings"] == []
    assert await _search_by_term(directory, parent) == [service["id"]]


async def test_a_term_kept_with_an_unknown_parent_is_exported_and_reimports(
    directory, infra, make_directory
):
    child = _term(parent_id=_id())
    body = {
        "taxonomy_terms": [child],
        "services": [_service({"id": _id(), "taxonomy_term": child})],
    }
    assert (await _post(directory, infra, "/import", body)).status_code == 200
    async with directory.client() as c:
        exported = (await c.get("/export")).json()
    assert [t["id"] for t in exported["taxonomy_terms"]] == [child["id"]]
    other = await make_directory("copy")
    again = await _post(other, infra, "/import", exported)
    assert again.status_code == 200, again.text
    assert again.json()["warning_count"] == 2  # the listed term and its embedded copy


async def test_an_embedded_term_with_an_unknown_parent_is_kept_with_a_warning(directory, infra):
    parent = _id()
    service = _service({"id": _id(), "taxonomy_term": _term(parent_id=parent)})
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 200, response.text
    assert [w["path"] for w in response.json()["warnings"]] == [
        "$.services[0].attributes[0].taxonomy_term.parent_id"
    ]
    single = await _post(directory, infra, "/services", _service(*service["attributes"]))
    assert single.status_code == 201, single.text
    assert single.headers.get_list("Bridges-Warning") == [
        f"$.attributes[0].taxonomy_term.parent_id parent term {parent} is neither in the "
        "dataset nor in the directory; kept as given"
    ]


async def test_an_embedded_term_of_an_unknown_taxonomy_is_kept_with_a_warning(directory, infra):
    taxonomy = _id()
    term = _term(taxonomy_id=taxonomy)
    service = _service({"id": _id(), "taxonomy_term": term})
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        {
            "path": "$.services[0].attributes[0].taxonomy_term.taxonomy_id",
            "message": f"taxonomy {taxonomy} is neither in the dataset nor in the directory; "
            "kept as given",
        }
    ]
    async with directory.client() as c:
        terms = (await c.get("/taxonomy_terms")).json()["contents"]
    assert terms[0]["taxonomy_id"] == taxonomy

    again = _service({"id": _id(), "taxonomy_term": term})
    single = await _post(directory, infra, "/services", again)
    assert single.status_code == 201, single.text


async def test_a_listed_term_of_an_unknown_taxonomy_is_kept_with_a_warning(directory, infra):
    taxonomy = _id()
    body = {"taxonomy_terms": [_term(taxonomy_id=taxonomy)], "services": []}
    response = await _post(directory, infra, "/import", body)
    assert response.status_code == 200, response.text
    assert [w["path"] for w in response.json()["warnings"]] == ["$.taxonomy_terms[0].taxonomy_id"]


async def test_an_attribute_naming_an_unknown_term_is_refused_with_its_path(directory, infra):
    missing = _id()
    service = _service({"id": _id(), "taxonomy_term_id": missing})
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "path": "$.services[0].attributes[0].taxonomy_term_id",
            "message": f"unknown taxonomy term {missing}",
        }
    ]
    single = await _post(directory, infra, "/services", service)
    assert single.status_code == 422
    assert single.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in single.json()["errors"]] == ["$.attributes[0].taxonomy_term_id"]


async def test_an_attribute_whose_term_id_differs_from_its_embedded_term_is_refused(
    directory, infra
):
    service = _service({"id": _id(), "taxonomy_term_id": _id(), "taxonomy_term": _term()})
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.services[0].attributes[0].taxonomy_term_id"
    ]


async def test_a_term_that_is_its_own_ancestor_is_refused(directory, infra):
    a, b = _term(), _term()
    a["parent_id"], b["parent_id"] = b["id"], a["id"]
    response = await _post(directory, infra, "/import", {"taxonomy_terms": [a, b]})
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.taxonomy_terms[0].parent_id",
        "$.taxonomy_terms[1].parent_id",
    ]


async def test_a_code_names_one_term_in_its_taxonomy(directory, infra):
    taxonomy = {"id": _id(), "name": "Needs", "description": "x"}
    first = _term(taxonomy_id=taxonomy["id"], code="food")
    body = {"taxonomies": [taxonomy], "taxonomy_terms": [first]}
    assert (await _post(directory, infra, "/import", body)).status_code == 200
    clash = _term(taxonomy_id=taxonomy["id"], code="food")
    for path, attribute in [
        ("/import", "$.services[0].attributes[0].taxonomy_term.code"),
        ("/services", "$.attributes[0].taxonomy_term.code"),
    ]:
        service = _service({"id": _id(), "taxonomy_term": clash})
        response = await _post(directory, infra, path, [service] if path == "/import" else service)
        assert response.status_code == 422, response.text
        assert [e["path"] for e in response.json()["errors"]] == [attribute]
    # renaming a code is fine, and so is giving the old code to another term afterwards
    renamed = {**first, "code": "meals"}
    body = {"taxonomy_terms": [renamed, clash]}
    assert (await _post(directory, infra, "/import", body)).status_code == 200


async def test_attribute_ids_are_unique_within_a_service_only(directory, infra):
    term = _term()
    shared = {"id": _id(), "taxonomy_term": term}
    two = [_service(shared), _service(shared)]  # another service reusing the id: kept
    response = await _post(directory, infra, "/import", two)
    assert response.status_code == 200, response.text
    twice = _service(shared, {**shared, "value": "again"})
    response = await _post(directory, infra, "/import", [twice])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "path": "$.services[0].attributes[1].id",
            "message": "duplicate id (first at $.services[0].attributes[0])",
        }
    ]


async def test_a_location_given_by_id_only_is_kept_with_a_warning(directory, infra):
    location_id = _id()
    service = _service()
    service["service_at_locations"] = [{"id": _id(), "location_id": location_id}]
    response = await _post(directory, infra, "/import", [service])
    assert response.status_code == 200, response.text
    assert [w["path"] for w in response.json()["warnings"]] == [
        "$.services[0].service_at_locations[0].location_id"
    ]
    async with directory.client() as c:
        stored = (await c.get(f"/services/{service['id']}")).json()
    assert stored["service_at_locations"][0]["location_id"] == location_id


async def test_text_postgresql_cannot_store_is_refused_with_its_path(directory, infra):
    nul = _service()
    nul["description"] = "before\x00after"
    nul["organization"]["note"] = {"list": ["\ud800"]}  # a lone surrogate, in a kept member
    response = await _post(directory, infra, "/import", [nul])
    assert response.status_code == 422, response.text
    assert sorted(e["path"] for e in response.json()["errors"]) == [
        "$.services[0].description",
        "$.services[0].organization.note.list[0]",
    ]
    single = await _post(directory, infra, "/services", nul)
    assert single.status_code == 422, single.text
    assert sorted(e["path"] for e in single.json()["errors"]) == [
        "$.description",
        "$.organization.note.list[0]",
    ]
    odd = {"services": [], "\ud800 \x00": 1}  # and a path never echoes such a name
    response = await _post(directory, infra, "/import", odd)
    assert response.status_code == 422, response.text
    assert {e["path"] for e in response.json()["errors"]} == {"$", '$["\\ud800 \\u0000"]'}
