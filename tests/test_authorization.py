"""The authorization matrix: every operation of every service's OpenAPI document, against the
three real services, refuses a missing token (401), every role its access table does not name
(403) and, where the table names an ownership rule, another officer or another agency's staff
(404 on an object, and nothing written; absent from a listing). An internal route (another
service's, with the services' key) refuses every role's token (403). Path parameters are real ids
(tests/world.py), so a 404 is the ownership rule's, not a missing object's.

One pass: every wrong cell is collected and reported together."""

from __future__ import annotations

from typing import Any

import pytest

from bridges_kit.access import Internal, Public, Rule
from bridges_kit.problems import PROBLEM_BASE, PROBLEM_JSON
from bridges_schema import Role
from tests import world as worlds

pytestmark = pytest.mark.e2e

# What a write needs to get past validation to its ownership check (other cells send nothing:
# the access table answers before a body is looked at).
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/referrals/{referral_id}/transitions"): {
        "json": {"to": "accepted"},
        "headers": {"If-Match": '"1"'},
    },
    ("POST", "/cases/{case_id}/consent/withdrawal"): {"json": {"note": "changed their mind"}},
    ("POST", "/referrals/{referral_id}/family-feedback"): {"json": {"answer": "got-help"}},
    ("PATCH", "/services/{service_id}/capacity"): {"json": {"accepting_referrals": False}},
    ("PATCH", "/services/{service_id}"): {
        "json": {"description": "changed by a stranger"},
        "headers": {"If-Match": '"1"'},
    },
    ("POST", "/listing-reviews/confirmation"): {"json": {"token": "not-a-signed-link"}},
    ("PUT", "/fhir/Task/{referral_id}"): {
        "json": {"resourceType": "Task", "status": "accepted", "intent": "order"},
        "headers": {"If-Match": 'W/"1"'},
    },
}
FHIR_JSON = "application/fhir+json"


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    ]


class Matrix:
    """Sends each cell's request and writes down every answer that is not the expected one."""

    def __init__(self, world: worlds.World) -> None:
        self.world = world
        self.wrong: list[str] = []

    async def send(self, service: str, method: str, path: str, token: str | None) -> Any:
        request = REQUESTS.get((method, path), {})
        async with self.world.service(service).client(token) as c:
            return await c.request(
                method,
                self.world.path(path),
                json=request.get("json"),
                headers=request.get("headers"),
            )

    def expect_problem(self, cell: str, response: Any, status: int, slug: str) -> None:
        if response.status_code != status or _problem_type(response) != PROBLEM_BASE + slug:
            self.wrong.append(f"{cell}: expected {status} {slug}, got {_said(response)}")

    def expect(self, cell: str, ok: bool, response: Any, wanted: str) -> None:
        if not ok:
            self.wrong.append(f"{cell}: expected {wanted}, got {_said(response)}")


def _problem_type(response: Any) -> str | None:
    """The problem type of a problem+json answer, or of an OperationOutcome (under /fhir: the
    issue's details coding carries it)."""
    content_type = response.headers.get("content-type")
    if content_type == PROBLEM_JSON:
        return str(response.json().get("type"))
    if content_type == FHIR_JSON and response.json().get("resourceType") == "OperationOutcome":
        coding = response.json()["issue"][0]["details"]["coding"][0]
        return f"{coding['system']}{coding['code']}"
    return None


def _said(response: Any) -> str:
    return f"{response.status_code} {response.text[:160]}"


async def test_every_route_refuses_no_token_wrong_roles_and_other_peoples_objects(stack, receiver):
    world = await worlds.build(stack, receiver.url)
    tables = worlds.tables()
    matrix = Matrix(world)
    unlisted: list[str] = []
    cells = 0
    for service in worlds.SERVICES:
        async with world.service(service).client() as c:
            document = (await c.get("/openapi.json")).json()
        table = tables[service]
        for method, path in _operations(document):
            entry = table.get((method, path))
            cell = f"{service} {method} {path}"
            if entry is None:
                unlisted.append(cell)
                continue
            if isinstance(entry, Public):
                response = await matrix.send(service, method, path, None)
                public = response.status_code < 500 and response.status_code not in (401, 403)
                matrix.expect(cell, public, response, "an answer without a token")
                cells += 1
                continue
            if isinstance(entry, Internal):
                cells += await _internal_cells(matrix, service, method, path)
                continue
            cells += await _rule_cells(matrix, service, method, path, entry)
    assert not unlisted, f"routes without an access rule: {unlisted}"
    assert not matrix.wrong, f"{len(matrix.wrong)} wrong cells of {cells}:\n" + "\n".join(
        matrix.wrong
    )
    assert cells > 100  # every service's routes were walked


async def _rule_cells(matrix: Matrix, service: str, method: str, path: str, rule: Rule) -> int:
    world, cells = matrix.world, 0
    cell = f"{service} {method} {path}"
    response = await matrix.send(service, method, path, None)
    matrix.expect_problem(f"{cell} without a token", response, 401, "unauthorized")
    for role in sorted(set(Role) - rule.roles):
        response = await matrix.send(service, method, path, world.token(role))
        matrix.expect_problem(f"{cell} as {role.value}", response, 403, "forbidden")
        cells += 1
    for owner in rule.owners:
        who = f"{cell} as another {owner.role.value}"
        before = await worlds.fingerprint(world.stack)
        response = await matrix.send(service, method, path, world.stranger(owner))
        if "{" in path:  # one object: as if it did not exist
            matrix.expect_problem(who, response, 404, "not-found")
        else:  # a listing: none of the owner's objects in it
            shown = response.is_success and world.ids["referral_id"] not in response.text
            matrix.expect(who, shown, response, "a listing without the owner's referral")
        changed = _changes(before, await worlds.fingerprint(world.stack))
        matrix.expect(who, not changed, response, f"nothing written (changed: {changed})")
        if method == "GET":  # and the owner does get it: the ids are real, the rule is ownership
            response = await matrix.send(service, method, path, world.token(owner.role))
            got = response.is_success and ("{" in path or world.ids["referral_id"] in response.text)
            matrix.expect(f"{cell} as its {owner.role.value}", got, response, "2xx with it")
        cells += 1
    return cells + 1


async def _internal_cells(matrix: Matrix, service: str, method: str, path: str) -> int:
    cell = f"{service} {method} {path}"
    response = await matrix.send(service, method, path, None)
    matrix.expect_problem(f"{cell} without a token", response, 401, "unauthorized")
    for role in Role:
        response = await matrix.send(service, method, path, matrix.world.token(role))
        matrix.expect_problem(f"{cell} as {role.value}", response, 403, "forbidden")
    return len(Role) + 1


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    )
