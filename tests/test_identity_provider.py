"""The development OpenID provider over real HTTP: what a real provider must refuse (no PKCE,
a plain challenge, a redirect URI that is not the app's, a code used twice, a rotated or revoked
refresh token), and its tokens as the services read them (JWKS, issuer, audience, claim mapping):
an access token gives the user's Bridges role and agency; an ID token is no access token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from werkzeug.serving import make_server

from bridges_devstack import identity
from bridges_devstack.demo import DemoUser
from bridges_devstack.servers import free_port
from bridges_kit.auth import TokenVerifier, ensure_dev_keypair
from bridges_kit.problems import Unauthorized
from bridges_kit.rate_limits import Rate
from bridges_kit.settings import ServiceSettings
from bridges_schema import Role

APP = "http://127.0.0.1:8102/app/"
AGENCY = str(uuid.uuid4())
USERS = [
    DemoUser("badge-1", "Dana Reyes", Role.OFFICER),
    DemoUser("staff-1", "Lee Chen", Role.AGENCY_STAFF, AGENCY, "Food bank"),
]


def authorization_request(**overrides: Any) -> tuple[dict[str, str], str]:
    """An authorization request as the app makes it, and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    params = {
        "response_type": "code",
        "client_id": identity.CLIENT_ID,
        "redirect_uri": APP,
        "scope": "openid profile offline_access",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}, verifier


@dataclass
class Running:
    issuer: str
    http: httpx.AsyncClient

    def request(self, **overrides: Any) -> tuple[dict[str, str], str]:
        return authorization_request(**overrides)

    async def code(self, user: str = "badge-1", **overrides: Any) -> tuple[str, str]:
        params, verifier = self.request(**overrides)
        chosen = await self.http.post("/authorize", params=params, data={"user": user})
        assert chosen.status_code == 302, chosen.text
        back = urlsplit(chosen.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == APP
        query = parse_qs(back.query)
        assert query["state"] == [params["state"]]
        return query["code"][0], verifier

    async def tokens(self, user: str = "badge-1") -> dict[str, Any]:
        code, verifier = await self.code(user)
        answer = await self.exchange(code, verifier)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def exchange(
        self, code: str, verifier: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP,
            "client_id": identity.CLIENT_ID,
            "code_verifier": verifier,
        }
        return await self.http.post("/token", data=form, headers=headers)

    async def refresh(self, refresh_token: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": identity.CLIENT_ID,
        }
        return await self.http.post("/token", data=form)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    key_dir = tmp_path_factory.mktemp("idp")
    private_key, _ = ensure_dev_keypair(key_dir)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = identity.Provider(
        issuer=issuer, users=USERS, private_key_pem=private_key.read_text(), redirect_uris=[APP]
    )
    server = make_server("127.0.0.1", port, provider.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield issuer
    server.shutdown()
    thread.join(5)


@pytest.fixture
async def idp(issuer: str) -> AsyncIterator[Running]:
    async with httpx.AsyncClient(base_url=issuer, timeout=10) as http:
        yield Running(issuer, http)


def verifier_for(issuer: str) -> TokenVerifier:
    """A service's verifier, set up as `bridges up` sets up the services."""
    env = {
        "BRIDGES_JWT_JWKS_URL": f"{issuer}/jwks",
        "BRIDGES_JWT_ISSUER": issuer,
        **identity.SERVICE_SETTINGS,
    }
    settings = ServiceSettings.from_env(env)
    return TokenVerifier(
        jwks_url=settings.jwt_jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        mapping=settings.claim_mapping(),
    )


async def test_discovery_names_the_endpoints_and_pkce_s256_only(idp: Running) -> None:
    found = (await idp.http.get("/.well-known/openid-configuration")).json()
    assert found["issuer"] == idp.issuer
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert found["token_endpoint"] == f"{idp.issuer}/token"
    keys = (await idp.http.get("/jwks")).json()["keys"]
    assert [k["alg"] for k in keys] == ["ES256"] and "d" not in keys[0]  # public half only


async def test_an_agency_staff_token_gives_the_role_and_agency_through_the_claim_mapping(
    idp: Running,
) -> None:
    tokens = await idp.tokens("staff-1")
    who = await verifier_for(idp.issuer).verify(f"Bearer {tokens['access_token']}")
    assert (who.sub, who.role, str(who.agency_id), who.name) == (
        "staff-1",
        Role.AGENCY_STAFF,
        AGENCY,
        "Lee Chen",
    )
    assert tokens["expires_in"] == identity.ACCESS_TOKEN_S


async def test_an_id_token_is_not_an_access_token(idp: Running) -> None:
    tokens = await idp.tokens()
    with pytest.raises(Unauthorized, match="not an access token"):  # typ JWT, not at+jwt
        await verifier_for(idp.issuer).verify(f"Bearer {tokens['id_token']}")


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "PKCE is required"),
        ({"code_challenge_method": "plain"}, "PKCE is required"),
        ({"redirect_uri": "https://evil.example/app/"}, "is not supported by client"),
        ({"redirect_uri": APP + "extra"}, "is not supported by client"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_a_sign_in_request_that_is_not_the_apps_own_is_refused_on_the_page(
    idp: Running, overrides: dict[str, Any], why: str
) -> None:
    params, _ = idp.request(**overrides)
    for answer in (
        await idp.http.get("/authorize", params=params),
        await idp.http.post("/authorize", params=params, data={"user": "badge-1"}),
    ):
        # said on the provider's page: never a redirect to a URI the request has not proved
        assert answer.status_code == 400, (overrides, answer.status_code, answer.headers)
        assert "location" not in answer.headers
        assert "refused" in answer.text and why in answer.text


async def test_a_code_is_good_once_and_only_with_its_verifier(idp: Running) -> None:
    code, verifier = await idp.code()
    wrong = await idp.exchange(code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code, verifier = await idp.code()
    assert (await idp.exchange(code, verifier)).status_code == 200
    again = await idp.exchange(code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_refresh_tokens_rotate_and_a_used_one_is_refused(idp: Running) -> None:
    first = (await idp.tokens())["refresh_token"]
    renewed = await idp.refresh(first)
    assert renewed.status_code == 200
    second = renewed.json()["refresh_token"]
    assert second != first
    who = await verifier_for(idp.issuer).verify(f"Bearer {renewed.json()['access_token']}")
    assert who.role is Role.OFFICER
    replayed = await idp.refresh(first)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"


async def test_a_used_refresh_token_coming_back_revokes_its_whole_chain(idp: Running) -> None:
    first = (await idp.tokens())["refresh_token"]
    second = (await idp.refresh(first)).json()["refresh_token"]
    elsewhere = (await idp.tokens())["refresh_token"]  # the same officer's other sign-in
    replayed = await idp.refresh(first)  # a thief's copy, or the officer's: one was stolen
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    refused = await idp.refresh(second)  # what the rotation gave out is revoked with it
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await idp.refresh(elsewhere)).status_code == 200


async def test_a_replayed_code_revokes_the_tokens_it_issued(idp: Running) -> None:
    code, verifier = await idp.code()
    issued = (await idp.exchange(code, verifier)).json()["refresh_token"]
    renewed = (await idp.refresh(issued)).json()["refresh_token"]
    elsewhere = (await idp.tokens())["refresh_token"]
    replayed = await idp.exchange(code, verifier)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    refused = await idp.refresh(renewed)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await idp.refresh(elsewhere)).status_code == 200


async def test_a_revoked_refresh_token_renews_nothing(idp: Running) -> None:
    refresh_token = (await idp.tokens())["refresh_token"]
    form = {"token": refresh_token, "client_id": identity.CLIENT_ID}
    assert (await idp.http.post("/revoke", data=form)).status_code == 200
    refused = await idp.refresh(refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_the_token_endpoint_answers_the_app_origin_only(idp: Running) -> None:
    code, verifier = await idp.code()
    ours = await idp.exchange(code, verifier, headers={"Origin": "http://127.0.0.1:8102"})
    assert ours.headers["access-control-allow-origin"] == "http://127.0.0.1:8102"
    assert ours.headers["cache-control"] == "no-store"
    theirs = await idp.http.get("/jwks", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in theirs.headers


async def test_sign_in_attempts_are_limited_per_address(tmp_path: Path) -> None:
    private_key, _ = ensure_dev_keypair(tmp_path)
    provider = identity.Provider(
        issuer="http://127.0.0.1:1",
        users=USERS,
        private_key_pem=private_key.read_text(),
        redirect_uris=[APP],
        sign_in_rate=Rate(per_minute=1, burst=2),
    )
    browser = provider.app.test_client()
    params, _ = authorization_request()
    answers = [
        browser.post("/authorize", query_string=params, data={"user": user})
        for user in ("badge-1", "nobody", "badge-1")  # a wrong guess counts too
    ]
    assert [a.status_code for a in answers] == [302, 400, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert "location" not in answers[2].headers  # no code for the attempt over the limit


def test_a_rotated_refresh_token_keeps_its_sessions_end(tmp_path: Path) -> None:
    private_key, _ = ensure_dev_keypair(tmp_path)
    provider = identity.Provider(
        issuer="http://127.0.0.1:1",
        users=USERS,
        private_key_pem=private_key.read_text(),
        redirect_uris=[APP],
    )
    browser = provider.app.test_client()
    params, verifier = authorization_request()
    chosen = browser.post("/authorize", query_string=params, data={"user": "badge-1"})
    code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
    form = {"client_id": identity.CLIENT_ID}
    first = browser.post(
        "/token",
        data={
            **form,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP,
            "code_verifier": verifier,
        },
    ).get_json()["refresh_token"]
    second = browser.post(
        "/token", data={**form, "grant_type": "refresh_token", "refresh_token": first}
    ).get_json()["refresh_token"]
    kept = provider.refresh_tokens
    assert kept[second].expires_at == kept[first].expires_at  # a shift, however often renewed


def test_the_services_claim_settings_name_every_bridges_role() -> None:
    values = json.loads(identity.SERVICE_SETTINGS["BRIDGES_JWT_ROLE_VALUES"])
    assert sorted(values.values()) == sorted(r.value for r in Role)


async def test_the_sign_in_page_lists_each_role_s_people_from_its_template_escaped(
    idp: Running,
) -> None:
    params, _ = idp.request(state='"><script>alert(1)</script>')
    page = await idp.http.get("/authorize", params=params)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h2>officer</h2>" in page.text and "<h2>agency staff</h2>" in page.text
    assert 'value="badge-1"><strong>Dana Reyes</strong> <span>badge-1</span>' in page.text
    assert "<strong>Lee Chen</strong> <span>Food bank</span>" in page.text
    assert "<script>alert(1)" not in page.text  # the query, echoed in the form's action
    assert "&lt;script&gt;" in page.text or "%3Cscript%3E" in page.text
