"""The access table on a bare app: a route without an entry (or an entry without a route) stops
the app from being built, and every request meets its route's entry before the route runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from bridges_kit.access import (
    OPERATIONS,
    AccessTableMismatch,
    Caller,
    Owner,
    Public,
    Rule,
    Table,
    allow,
)
from bridges_kit.auth import ensure_dev_keypair, mint_token
from bridges_kit.bus_access import BusUser
from bridges_kit.http import create_app, router
from bridges_kit.problems import PROBLEM_BASE
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_kit.sql_uow import PostgresUnitOfWork
from bridges_schema import Role

OWN = Owner(Role.OFFICER, "their own notes")
TABLE: Table = {
    **OPERATIONS,
    ("GET", "/notes/{note_id}"): allow(Role.OFFICER, Role.ADMIN, owners=[OWN]),
    ("POST", "/notes"): allow(Role.OFFICER),
    ("GET", "/weather"): Public("anyone"),
}


class Note(BaseModel):
    text: str


class NoRepositories(PostgresUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        pass


def _routes() -> APIRouter:
    routes = router()

    @routes.get("/notes/{note_id}")
    async def get_note(note_id: int, caller: Caller) -> dict[str, Any]:
        return {"id": note_id, "caller": caller.sub}

    @routes.post("/notes")  # asks nothing of the caller: the table still guards it
    async def add_note(note: Note) -> dict[str, str]:
        return {"text": note.text}

    @routes.get("/weather")
    async def weather() -> dict[str, str]:
        return {"sky": "grey"}

    return routes


def _app(table: Table, key_dir: Path, routes: APIRouter | None = None) -> Any:
    _, public = ensure_dev_keypair(key_dir)
    runtime = Runtime(
        ServiceSettings(service_name="access-test", jwt_public_key_file=public),
        bus_user=BusUser("test", None),
        migrations=Path(__file__).parent,
        unit_of_work=NoRepositories,
    )
    return create_app(
        runtime,
        title="t",
        description="t",
        routers=[routes or _routes()],
        error_map={},
        access_table=table,
    )


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
async def client(key_dir: Path) -> Any:
    app = _app(TABLE, key_dir)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://access") as c:
        yield c


def _bearer(key_dir: Path, role: Role) -> dict[str, str]:
    key = (key_dir / "dev-jwt-key.pem").read_text()
    return {"Authorization": f"Bearer {mint_token(key, sub=f'{role.value}-1', role=role)}"}


def test_a_route_without_an_entry_stops_the_app(key_dir: Path):
    table = {k: v for k, v in TABLE.items() if k != ("POST", "/notes")}
    with pytest.raises(AccessTableMismatch, match=r"no access rule for POST /notes"):
        _app(table, key_dir)


def test_an_entry_naming_no_route_stops_the_app(key_dir: Path):
    table = {**TABLE, ("DELETE", "/notes/{note_id}"): allow(Role.ADMIN)}
    with pytest.raises(AccessTableMismatch, match=r"DELETE /notes/\{note_id\} names no route"):
        _app(table, key_dir)


def test_a_starlette_route_cannot_be_given_roles(key_dir: Path):
    table = {**TABLE, ("GET", "/docs"): allow(Role.OPS)}  # FastAPI serves /docs outside routing
    with pytest.raises(AccessTableMismatch, match=r"GET /docs is served outside FastAPI"):
        _app(table, key_dir)


def test_a_router_included_with_a_prefix_is_refused(key_dir: Path):
    outer = APIRouter()
    outer.include_router(_routes(), prefix="/v2")
    with pytest.raises(AccessTableMismatch, match="without a prefix"):
        _app(OPERATIONS, key_dir, outer)


def test_an_ownership_rule_names_an_allowed_role():
    with pytest.raises(ValueError, match="does not allow"):
        Rule(frozenset({Role.ADMIN}), (OWN,))


async def test_no_token_is_a_401_before_the_body_is_validated(client: Any):
    response = await client.post("/notes", json={"not": "a note"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_role_the_entry_does_not_name_is_a_403_before_the_body_is_validated(
    client: Any, key_dir: Path
):
    response = await client.post(
        "/notes", json={"not": "a note"}, headers=_bearer(key_dir, Role.OPS)
    )
    assert response.status_code == 403
    assert response.json()["type"] == PROBLEM_BASE + "forbidden"
    admin = await client.get("/notes/7", headers=_bearer(key_dir, Role.ADMIN))
    assert admin.json() == {"id": 7, "caller": "admin-1"}


async def test_an_allowed_role_reaches_the_route_and_a_public_one_needs_no_token(
    client: Any, key_dir: Path
):
    added = await client.post("/notes", json={"text": "x"}, headers=_bearer(key_dir, Role.OFFICER))
    assert added.json() == {"text": "x"}
    assert (await client.get("/weather")).json() == {"sky": "grey"}
    assert (await client.get("/healthz")).status_code == 200


async def test_the_openapi_document_says_who_may_call_and_what_is_refused(client: Any):
    document = (await client.get("/openapi.json")).json()
    note = document["paths"]["/notes/{note_id}"]["get"]
    assert note["security"] == [{"bearer": []}]
    assert {"401", "403", "404", "422", "503"} <= set(note["responses"])
    assert "officer (only their own notes)" in note["description"]
    problem = note["responses"]["403"]["content"]["application/problem+json"]["schema"]
    assert problem["properties"]["type"]["enum"] == [PROBLEM_BASE + "forbidden"]
    weather = document["paths"]["/weather"]["get"]
    assert "security" not in weather
    assert not {"401", "403", "404"} & set(weather["responses"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
