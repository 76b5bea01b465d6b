"""Bearer token verification against a real JWKS server on 127.0.0.1: key rotation, a rate-limited
refetch, failing closed when the provider is down, an event loop that keeps running while keys are
fetched, pinned algorithms, and the claims a token may carry."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm
from starlette.types import Receive, Scope, Send

from bridges_devstack.receiver import InProcessServer
from bridges_devstack.servers import free_port
from bridges_kit.auth import Claims, Principal, TokenVerifier
from bridges_kit.problems import ServiceUnavailable, Unauthorized
from bridges_schema import Role

DROP = object()  # a claim override that removes the claim


AT = {"typ": "at+jwt"}  # an access token's header (RFC 9068)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "officer-1",
        "role": "officer",
        "iss": "bridges",
        "aud": "bridges",
        "iat": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


@dataclass(frozen=True)
class SigningKey:
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def bearer(self, typ: str | None = "at+jwt", **overrides: Any) -> str:
        header = {"kid": self.kid, **({"typ": typ} if typ is not None else {})}
        token = jwt.encode(claims(**overrides), self.private, algorithm="ES256", headers=header)
        return f"Bearer {token}"


@dataclass
class JwksServer:
    """Serves a JWKS; counts the requests; can answer slowly, with an error, or with garbage."""

    keys: list[dict[str, Any]]
    status: int = 200
    body: bytes | None = None  # replaces the JWKS document when set
    delay_s: float = 0.0
    requests: int = 0
    port: int = field(default_factory=free_port)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        body = self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def start(self) -> JwksServer:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self._server = InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None


@pytest.fixture
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture
async def jwks(key: SigningKey) -> AsyncIterator[JwksServer]:
    server = await JwksServer([key.jwk()]).start()
    yield server
    await server.stop()


def verifier_for(server: JwksServer, refresh_interval_s: float = 30.0) -> TokenVerifier:
    return TokenVerifier(
        jwks_url=server.url, jwks_min_refresh_interval_s=refresh_interval_s, jwks_timeout_s=2.0
    )


async def test_a_token_signed_by_a_published_key_verifies(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks)
    principal = await verifier.verify(key.bearer(email="Officer@Example.org", name="Ana"))
    assert principal == Principal(
        sub="officer-1", role=Role.OFFICER, email="Officer@example.org", name="Ana"
    )
    await verifier.verify(key.bearer())
    assert jwks.requests == 1  # the key is cached


async def test_a_rotated_key_is_fetched_once(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks, refresh_interval_s=0)
    await verifier.verify(key.bearer())
    new_key = SigningKey()
    jwks.keys = [key.jwk(), new_key.jwk()]
    principal = await verifier.verify(new_key.bearer(sub="rotated"))
    assert principal.sub == "rotated"
    assert jwks.requests == 2
    await verifier.verify(new_key.bearer())
    await verifier.verify(key.bearer())
    assert jwks.requests == 2


async def test_a_key_unknown_after_a_refresh_is_refused(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks, refresh_interval_s=0)
    await verifier.verify(key.bearer())
    with pytest.raises(Unauthorized, match="does not publish"):
        await verifier.verify(SigningKey().bearer())
    assert jwks.requests == 2


async def test_made_up_kids_cause_at_most_one_fetch_per_interval(jwks: JwksServer):
    verifier = verifier_for(jwks, refresh_interval_s=30)
    strangers = [SigningKey().bearer() for _ in range(30)]
    results = await asyncio.gather(*(verifier.verify(t) for t in strangers), return_exceptions=True)
    assert all(isinstance(r, Unauthorized) for r in results)
    for token in strangers:
        with pytest.raises(Unauthorized):
            await verifier.verify(token)
    assert jwks.requests == 1


async def test_concurrent_refreshes_share_one_fetch(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks, refresh_interval_s=0)  # only the coalescing limits fetches
    jwks.delay_s = 0.2
    tokens = [key.bearer(sub=f"officer-{i}") for i in range(20)]
    principals = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert [p.sub for p in principals] == [f"officer-{i}" for i in range(20)]
    assert jwks.requests == 1


async def test_a_cached_key_verifies_while_the_provider_is_down(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks, refresh_interval_s=0)
    await verifier.verify(key.bearer())
    await jwks.stop()
    assert (await verifier.verify(key.bearer(sub="still-in"))).sub == "still-in"


async def test_an_unknown_kid_while_the_provider_is_down_is_a_503(
    jwks: JwksServer, key: SigningKey
):
    verifier = verifier_for(jwks, refresh_interval_s=0)
    await verifier.verify(key.bearer())
    await jwks.stop()
    with pytest.raises(ServiceUnavailable) as caught:
        await verifier.verify(SigningKey().bearer())
    assert caught.value.status == 503
    assert caught.value.extensions["retry_after_s"] >= 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(500, None, id="http-500"),
        pytest.param(200, b"<html>not json</html>", id="not-json"),
        pytest.param(200, b'[{"kty": "EC"}]', id="not-an-object"),
        pytest.param(200, b'{"keys": "none"}', id="keys-not-a-list"),
        pytest.param(200, b'{"keys": [{"kty": "EC", "kid": "x", "crv": "P-256"}]}', id="bad-key"),
    ],
)
async def test_an_unusable_provider_answer_is_a_503(
    jwks: JwksServer, key: SigningKey, status: int, body: bytes | None
):
    jwks.status, jwks.body = status, body
    with pytest.raises(ServiceUnavailable):
        await verifier_for(jwks).verify(key.bearer())


async def test_an_unreachable_provider_is_a_503(key: SigningKey):
    verifier = TokenVerifier(jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(key.bearer())


async def test_a_slow_provider_does_not_block_the_event_loop(jwks: JwksServer, key: SigningKey):
    jwks.delay_s = 0.5
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        await verifier_for(jwks).verify(key.bearer())
    finally:
        ticking.cancel()
    assert ticks >= 10  # about 50 on an idle machine; a blocking fetch would allow none


async def test_the_token_algorithm_must_be_the_keys(jwks: JwksServer, key: SigningKey):
    verifier = verifier_for(jwks)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(claims(), rsa_key, algorithm="RS256", headers=AT | {"kid": key.kid})
    with pytest.raises(Unauthorized, match="does not match its signing key"):
        await verifier.verify(f"Bearer {rs256}")


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
async def test_unsigned_and_symmetric_tokens_are_refused(
    jwks: JwksServer, key: SigningKey, algorithm: str
):
    secret = "a-guessable-shared-secret-of-32-bytes" if algorithm == "HS256" else None
    token = jwt.encode(claims(), secret, algorithm=algorithm, headers=AT | {"kid": key.kid})
    with pytest.raises(Unauthorized, match="algorithm is not accepted"):
        await verifier_for(jwks).verify(f"Bearer {token}")
    assert jwks.requests == 0


@pytest.mark.parametrize("algorithms", [("HS256",), ("ES256", "none"), ()])
def test_symmetric_algorithms_cannot_be_configured(algorithms: tuple[str, ...]):
    with pytest.raises(ValueError, match="algorithm"):
        TokenVerifier(public_key_pem="unused", algorithms=algorithms)


# --- claims, checked with the static PEM key mode ---


@pytest.fixture
def pem_verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier(public_key_pem=key.public_pem())


AGENCY = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("overrides", "claim", "secret"),
    [
        pytest.param({"email": {"mailbox": "a@b.org"}}, "email", "mailbox", id="email-object"),
        pytest.param({"email": "a@b.org\r\nBcc: x@y.org"}, "email", "Bcc", id="email-crlf"),
        pytest.param({"email": "not-an-address"}, "email", "not-an-address", id="email-invalid"),
        pytest.param({"sub": "s" * 129}, "sub", "sss", id="sub-129-chars"),
        pytest.param({"sub": "a\x1bb"}, "sub", "\x1b", id="sub-control-char"),
        pytest.param({"name": "Ana\x00"}, "name", "Ana", id="name-nul"),
        pytest.param({"name": "Ana\r\nX"}, "name", "Ana", id="name-crlf"),
        pytest.param({"name": "n" * 201}, "name", "nnn", id="name-too-long"),
        pytest.param({"role": "agency_staff"}, "agency_id", "agency_staff", id="staff-no-agency"),
        pytest.param({"role": "root"}, "role", "root", id="bad-role"),
        pytest.param({"role": DROP}, "role", "officer", id="no-role"),
        pytest.param({"agency_id": "agency-7"}, "agency_id", "agency-7", id="agency-not-uuid"),
    ],
)
async def test_invalid_claims_are_refused(
    pem_verifier: TokenVerifier,
    key: SigningKey,
    overrides: dict[str, Any],
    claim: str,
    secret: str,
):
    with pytest.raises(Unauthorized) as caught:
        await pem_verifier.verify(key.bearer(**overrides))
    assert f"'{claim}'" in caught.value.detail
    assert secret not in caught.value.detail  # the claim's value is not echoed


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"sub": "s" * 128}, id="sub-128-chars"),
        pytest.param({"role": "agency_staff", "agency_id": AGENCY}, id="agency-staff"),
        pytest.param({"email": "ana@example.org", "name": "Ana María Núñez"}, id="email-name"),
    ],
)
async def test_valid_claims_pass(
    pem_verifier: TokenVerifier, key: SigningKey, overrides: dict[str, Any]
):
    principal = await pem_verifier.verify(key.bearer(**overrides))
    assert principal.sub == overrides.get("sub", "officer-1")  # never cut


async def test_a_token_expired_within_the_leeway_passes(
    pem_verifier: TokenVerifier, key: SigningKey
):
    now = int(time.time())  # taken when the test runs: a time taken at collection ages
    principal = await pem_verifier.verify(key.bearer(iat=now - 400, exp=now - 10))
    assert principal.sub == "officer-1"


async def test_a_token_expired_beyond_the_leeway_is_refused(
    pem_verifier: TokenVerifier, key: SigningKey
):
    now = int(time.time())
    with pytest.raises(Unauthorized, match="expired"):
        await pem_verifier.verify(key.bearer(iat=now - 400, exp=now - 60))


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not.a.jwt"])
async def test_a_missing_or_malformed_header_is_refused(
    pem_verifier: TokenVerifier, header: str | None
):
    with pytest.raises(Unauthorized):
        await pem_verifier.verify(header)


def test_claims_model_validates_on_its_own():
    claims_ = Claims.model_validate({"sub": "x", "role": "agency_staff", "agency_id": AGENCY})
    assert claims_.principal().agency_id == uuid.UUID(AGENCY)


async def test_an_id_token_or_an_untyped_token_is_not_an_access_token(
    jwks: JwksServer, key: SigningKey
):
    verifier = verifier_for(jwks)
    for typ in ("JWT", None, "id_token+jwt"):  # what an ID token, or a plain JWT, carries
        with pytest.raises(Unauthorized, match="not an access token"):
            await verifier.verify(key.bearer(typ=typ, nonce="n-1"))
    for typ in ("at+jwt", "application/at+jwt", "AT+JWT"):  # RFC 7515: no case, prefix optional
        await verifier.verify(key.bearer(typ=typ))


async def test_a_provider_that_types_its_access_tokens_otherwise_is_named_in_the_settings(
    jwks: JwksServer, key: SigningKey
):
    verifier = TokenVerifier(jwks_url=jwks.url, token_types=("JWT",))
    assert (await verifier.verify(key.bearer(typ="JWT"))).sub == "officer-1"
    with pytest.raises(Unauthorized, match="not an access token"):
        await verifier.verify(key.bearer(typ="at+jwt"))


async def test_a_token_living_longer_than_the_maximum_is_refused(jwks: JwksServer, key: SigningKey):
    now = int(time.time())
    verifier = TokenVerifier(jwks_url=jwks.url, max_lifetime_s=3600)
    with pytest.raises(Unauthorized, match="longer than the 3600 s accepted"):
        await verifier.verify(key.bearer(iat=now, exp=now + 3601))
    await verifier.verify(key.bearer(iat=now, exp=now + 3600))
    with pytest.raises(Unauthorized, match="longer than"):  # the default: 12 hours
        await verifier_for(jwks).verify(key.bearer(iat=now - 60, exp=now + 12 * 3600))
