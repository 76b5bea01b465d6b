"""Development sign-in over real HTTP: the users to choose from, a token the service accepts, named
refusals; never mounted unless configured, and refused in production."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from bridges_devstack.testing import RunningService
from bridges_kit.auth import ensure_dev_keypair
from bridges_referrals.bootstrap import ReferralsSettings
from bridges_referrals.dev_sign_in import DevSignIn, DevSignInMisconfigured
from bridges_schema import Role

AGENCY = uuid.uuid4()
USERS = [
    {
        "id": "badge-1234",
        "name": "Dana Reyes",
        "role": "officer",
        "email": "dana.reyes@alder.example.org",
        "agency_id": None,
        "agency_name": None,
        "password": "never shown",  # not a public field: ignored
    },
    {
        "id": "staff-77",
        "name": "Lee Okafor",
        "role": "agency_staff",
        "email": "lee@food.example.org",
        "agency_id": str(AGENCY),
        "agency_name": "Riverton Community Food Bank",
    },
    {"id": "admin-1", "name": "Ari Admin", "role": "admin"},
]


def _users_file(tmp_path: Path, users: list[dict] | str = USERS) -> Path:
    path = tmp_path / "dev-users.json"
    path.write_text(users if isinstance(users, str) else json.dumps(users))
    return path


@pytest.fixture
async def dev(infra, tmp_path, start_referrals) -> RunningService:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    return await start_referrals(
        {
            "BRIDGES_DEV_SIGN_IN_KEY_FILE": str(infra.key_dir / "dev-jwt-key.pem"),
            "BRIDGES_DEV_SIGN_IN_USERS_FILE": str(_users_file(tmp_path)),
            "BRIDGES_APP_DIR": str(tmp_path / "dist"),
        }
    )


async def test_the_users_are_listed_with_their_public_fields(dev):
    async with dev.client() as c:
        listed = await c.get("/dev/users")
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    users = listed.json()
    assert [u["id"] for u in users] == ["badge-1234", "staff-77", "admin-1"]
    assert users[0] == {k: v for k, v in USERS[0].items() if k != "password"}
    assert users[1]["agency_id"] == str(AGENCY)


async def test_a_token_from_sign_in_is_accepted(dev):
    async with dev.client() as c:
        signed = await c.post("/dev/sign-in", json={"user": "badge-1234"})
        staff = await c.post("/dev/sign-in", json={"user": "staff-77"})
    assert signed.status_code == 200 and signed.headers["cache-control"] == "no-store"
    body = signed.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 12 * 3600
    assert body["user"]["name"] == "Dana Reyes"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "badge-1234" and claims["role"] == "officer"
    assert claims["name"] == "Dana Reyes" and claims["email"] == "dana.reyes@alder.example.org"
    assert "agency_id" not in claims and claims["exp"] - claims["iat"] == 12 * 3600
    async with dev.client(body["access_token"]) as c:
        mine = await c.get("/referrals?mine=true")
    async with dev.client(staff.json()["access_token"]) as c:
        inbox = await c.get("/inbox")
    assert mine.status_code == 200 and mine.json()["items"] == []
    assert inbox.status_code == 200
    staff_claims = jwt.decode(staff.json()["access_token"], options={"verify_signature": False})
    assert staff_claims["agency_id"] == str(AGENCY) and staff_claims["role"] == "agency_staff"


async def test_the_app_config_offers_dev_sign_in(dev):
    async with dev.client() as c:
        config = (await c.get("/app/config.json")).json()
    assert config["sign_in"] == "dev"


async def test_an_unknown_user_is_a_404_problem(dev):
    async with dev.client() as c:
        response = await c.post("/dev/sign-in", json={"user": "badge-9999"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [{}, {"user": ""}, {"user": 1234}, {"user": "x" * 129}, {"user": "a", "role": "admin"}, []],
)
async def test_a_bad_body_is_a_422_problem(dev, body):
    async with dev.client() as c:
        response = await c.post("/dev/sign-in", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_dev_routes_are_tagged_development(dev):
    async with dev.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    assert paths["/dev/sign-in"]["post"]["tags"] == ["development"]
    assert paths["/dev/users"]["get"]["tags"] == ["development"]


async def test_without_configuration_there_is_no_dev_sign_in(desk):
    async with desk.service.client() as c:
        users = await c.get("/dev/users")
        sign_in = await c.post("/dev/sign-in", json={"user": "badge-1234"})
        paths = (await c.get("/openapi.json")).json()["paths"]
    assert users.status_code == 404 and sign_in.status_code == 404
    assert not [p for p in paths if p.startswith("/dev")]


def _settings(tmp_path: Path, **values: object) -> ReferralsSettings:
    return ReferralsSettings(
        jwt_public_key="-----BEGIN PUBLIC KEY-----",  # production needs keys and a URL
        public_url="https://referrals.example.org",
        data_key_file=tmp_path / "data-keys.json",
        **values,
    )


def test_production_refuses_dev_sign_in(tmp_path):
    files = {
        "dev_sign_in_key_file": tmp_path / "key.pem",
        "dev_sign_in_users_file": tmp_path / "users.json",
    }
    with pytest.raises(ValidationError, match="refused in production"):
        _settings(tmp_path, environment="production", **files)
    with pytest.raises(ValidationError, match="refused in production"):
        _settings(tmp_path, environment="production", dev_sign_in_users_file=tmp_path / "u")
    assert _settings(tmp_path, environment="development", **files).dev_sign_in
    assert not _settings(tmp_path, environment="production").dev_sign_in


def test_both_files_or_neither(tmp_path):
    with pytest.raises(ValidationError, match="needs both"):
        _settings(tmp_path, dev_sign_in_key_file=tmp_path / "key.pem")


@pytest.mark.parametrize(
    ("users", "why"),
    [
        ("not json", "USERS_FILE"),
        ([{"id": "s", "name": "S", "role": "agency_staff"}], "agency_id"),
        ([{"id": "a", "name": "A", "role": "wizard"}], "role"),
        ([USERS[0], USERS[0]], "repeats a user id"),
    ],
)
def test_a_bad_users_file_is_said_at_start_up(infra, tmp_path, users, why):
    with pytest.raises(DevSignInMisconfigured, match=why):
        DevSignIn.load(
            infra.key_dir / "dev-jwt-key.pem",
            _users_file(tmp_path, users),
            issuer="bridges",
            audience="bridges",
        )


@pytest.mark.parametrize("key", ["public", "missing", "garbage"])
def test_a_key_that_cannot_sign_is_said_at_start_up(infra, tmp_path, key):
    _, public = ensure_dev_keypair(tmp_path / "keys")
    (tmp_path / "garbage.pem").write_text("-----BEGIN PRIVATE KEY-----\nxx\n")
    key_file = {
        "public": public,
        "missing": tmp_path / "none.pem",
        "garbage": tmp_path / "garbage.pem",
    }[key]
    with pytest.raises(DevSignInMisconfigured, match="KEY_FILE"):
        DevSignIn.load(key_file, _users_file(tmp_path), issuer="bridges", audience="bridges")


def test_a_token_names_the_settings_issuer_and_audience(infra, tmp_path):
    dev = DevSignIn.load(
        infra.key_dir / "dev-jwt-key.pem", _users_file(tmp_path), issuer="idp", audience="api"
    )
    token = dev.sign_in("admin-1").access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], claims["role"]) == ("idp", "api", Role.ADMIN.value)
