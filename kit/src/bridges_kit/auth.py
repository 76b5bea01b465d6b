"""JWT bearer authentication and role checks (PyJWT), plus `mint_token` for the test suite and
the benchmarks (services configured with their key accept them; `bridges token` signs as the
development OpenID provider instead, and no service has a token command).

Tokens carry `sub`, a role (officer | agency_staff | admin | ops), an agency for agency staff,
and optionally an email and a name; where a provider puts the last four is a `ClaimMapping`
(by default `role`, `agency_id`, `email`, `name`). Keys: a PEM public key, or a JWKS URL.

Verification is async: JWKS keys are fetched with httpx off the event loop, cached, and refetched
when a token names an unknown key (rate-limited). The claims are validated (`Claims`) before a
`Principal` is built, so nothing downstream sees a malformed identity.
"""

from __future__ import annotations

import asyncio
import math
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Annotated, Any, Self

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bridges_kit.claim_mapping import ClaimMapping
from bridges_kit.principal import Principal
from bridges_kit.problems import ServiceUnavailable, Unauthorized
from bridges_kit.verified_tokens import VerifiedTokens
from bridges_schema import Role

log = structlog.get_logger(__name__)

DEV_KEY_NAME = "dev-jwt-key.pem"
DEV_PUBLIC_KEY_NAME = "dev-jwt-key.pub.pem"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (no secret: RFC 9068, the `typ` of an access token)


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable")
    return value


def _has_control_characters(value: str) -> bool:
    # Cc covers CR, LF, NUL, ...; Zl/Zp are Unicode line breaks. Any of them in a mail header or a
    # log line is an injection, and a mail that can never be sent is retried forever.
    return any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value)


Subject = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]

# What each claim must look like, for the 401 detail (the value itself is never echoed: it may
# hold personal data, or be the attack).
_CLAIM_RULES = {
    "sub": "must be a string of 1 to 128 printable characters",
    "role": "must be one of: " + ", ".join(r.value for r in Role),
    "agency_id": "must be a UUID",
    "email": "must be an email address without control characters",
    "name": "must be a string of at most 200 characters without control characters",
}


class Claims(BaseModel):
    """The identity claims of a verified token, validated before anything downstream trusts them.

    Invalid claims are refused, never repaired: cutting a long `sub` could merge two subjects."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    sub: Subject
    role: Role
    agency_id: uuid.UUID | None = None
    email: EmailStr | None = None
    name: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("email", "name", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and _has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _agency_staff_have_an_agency(self) -> Self:
        if self.role is Role.AGENCY_STAFF and self.agency_id is None:
            raise PydanticCustomError(
                "agency_id_required", "agency staff tokens need an 'agency_id' claim"
            )
        return self

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Claims:
        """Validate a decoded token payload; any invalid claim is a 401 naming the claim."""
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise Unauthorized(_claims_detail(exc)) from None

    def principal(self) -> Principal:
        return Principal(
            sub=self.sub, role=self.role, agency_id=self.agency_id, email=self.email, name=self.name
        )


def _claims_detail(exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors(include_input=False):
        if not error["loc"]:  # a rule across claims; its message is ours and holds no value
            problems.append(error["msg"])
            continue
        claim = str(error["loc"][0])
        if error["type"] == "missing":
            problem = f"the token has no '{claim}' claim"
        else:
            problem = f"the token's '{claim}' claim {_CLAIM_RULES.get(claim, 'is invalid')}"
        if problem not in problems:
            problems.append(problem)
    return "; ".join(problems)


class _JwksUnavailable(Exception):
    """The key set could not be fetched or read (its text is safe to log)."""


class JwksCache:
    """The identity provider's signing keys, by `kid`, fetched with httpx off the event loop.

    A token naming an unknown `kid` triggers a refetch (key rotation), but at most one fetch starts
    per `min_refresh_interval_s`, so a flood of tokens with made-up kids cannot hammer the provider;
    callers that wait for a fetch already under way share its result. Keys older than `max_age_s`
    are refetched too, so a key the provider withdraws stops being trusted. When a fetch fails the
    cached keys stay in use."""

    def __init__(
        self,
        url: str,
        *,
        algorithms: frozenset[str],
        min_refresh_interval_s: float = 30.0,
        max_age_s: float = 600.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self._algorithms = algorithms
        self._min_refresh_interval_s = min_refresh_interval_s
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch (monotonic)
        self._attempted_at: float | None = None  # last fetch started, whatever its outcome
        self._attempts = 0  # fetches finished: tells a waiter that one ended while it waited
        self._reachable = True  # the last fetch succeeded
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key named `kid`: 401 if the provider does not publish it, 503 if it cannot say."""
        if kid not in self._keys or self._stale():
            await self._refresh()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._reachable:  # the kid may be a new, legitimate key: fail closed, retryably
            raise ServiceUnavailable(
                "the identity provider's signing keys cannot be fetched; retry shortly",
                retry_after_s=self._retry_after_s(),
            )
        raise Unauthorized("the token is signed with a key the identity provider does not publish")

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age_s

    def _retry_after_s(self) -> int:
        since = time.monotonic() - (self._attempted_at or 0.0)
        return max(1, math.ceil(self._min_refresh_interval_s - since))

    async def _refresh(self) -> None:
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen:  # another caller fetched while this one waited
                return
            now = time.monotonic()
            if (
                self._attempted_at is not None
                and now - self._attempted_at < self._min_refresh_interval_s
            ):
                return
            self._attempted_at = now
            # pessimistic until the fetch succeeds, also if this request is cancelled midway
            self._reachable = False
            try:
                self._keys = await self._fetch()
                self._fetched_at, self._reachable = now, True
            except _JwksUnavailable as exc:
                log.warning("jwks_unavailable", url=self.url, error=str(exc))
            finally:  # counted when it ends: the callers that waited for it share its outcome
                self._attempts += 1

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise _JwksUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise _JwksUnavailable(f"HTTP {response.status_code}")
        try:
            document = response.json()
            if not isinstance(document, dict):
                raise _JwksUnavailable("the JWKS is not a JSON object")
            key_set = jwt.PyJWKSet.from_dict(document)
        except (ValueError, jwt.PyJWTError) as exc:  # JSON errors are ValueErrors
            raise _JwksUnavailable(f"malformed JWKS: {type(exc).__name__}") from exc
        keys = {
            key.key_id: key
            for key in key_set.keys
            # signing keys for a pinned algorithm only: an "oct" (HS256) key is never usable
            if isinstance(key.key_id, str)
            and key.public_key_use in ("sig", None)
            and key.algorithm_name in self._algorithms
        }
        if not keys:
            raise _JwksUnavailable("the JWKS has no usable signing key")
        return keys


class TokenVerifier:
    """Checks bearer tokens against a PEM public key or the keys a JWKS URL publishes."""

    def __init__(
        self,
        *,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
        issuer: str = "bridges",
        audience: str = "bridges",
        algorithms: tuple[str, ...] = ("ES256", "RS256", "EdDSA"),
        token_types: tuple[str, ...] = (ACCESS_TOKEN_TYPE,),
        max_lifetime_s: float = 12 * 3600,
        leeway_s: float = 30.0,
        jwks_min_refresh_interval_s: float = 30.0,
        jwks_timeout_s: float = 5.0,
        mapping: ClaimMapping | None = None,
        verified: VerifiedTokens | None = None,
    ) -> None:
        if not public_key_pem and not jwks_url:
            raise ValueError("a JWT public key or a JWKS URL is required")
        if not algorithms:
            raise ValueError("at least one JWT algorithm is required")
        # public-key algorithms only: with "none" nobody needs a key, and with HMAC anyone who
        # knows the (public) verification key could sign tokens
        symmetric = sorted(
            a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")
        )
        if symmetric:
            raise ValueError(f"only public-key JWT algorithms are accepted, not {symmetric}")
        self._key = public_key_pem
        self._algorithms = frozenset(algorithms)
        self._jwks = (
            JwksCache(
                jwks_url,
                algorithms=self._algorithms,
                min_refresh_interval_s=jwks_min_refresh_interval_s,
                timeout_s=jwks_timeout_s,
            )
            if jwks_url
            else None
        )
        self._token_types = frozenset(_media_type(t) for t in token_types)
        self._max_lifetime_s = max_lifetime_s
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._mapping = mapping or ClaimMapping()
        self._verified = verified or VerifiedTokens()

    async def verify(self, authorization: str | None) -> Principal:
        """The caller named by an `Authorization: Bearer <token>` header value.

        Raises Unauthorized (401) for a missing, malformed, forged, expired or ill-claimed token,
        and ServiceUnavailable (503) when the JWKS cannot be fetched for a key not yet cached."""
        if not authorization:
            raise Unauthorized("send an 'Authorization: Bearer <token>' header")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        seen = self._verified.get(token)
        if seen is not None:
            return seen
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise Unauthorized("the token's signing algorithm is not accepted")
        typ = header.get("typ")
        if not isinstance(typ, str) or _media_type(typ) not in self._token_types:
            # an ID token (typ JWT) is for the app, never a key to the API (RFC 9068 section 4)
            raise Unauthorized("the token is not an access token (its 'typ' is not at+jwt)")
        key = await self._key_for(header, algorithm)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        lifetime = float(payload["exp"]) - float(payload["iat"])
        if lifetime > self._max_lifetime_s:  # a stolen long-lived token would be worth too much
            raise Unauthorized(
                f"the token lives {lifetime:.0f} s, longer than the {self._max_lifetime_s:.0f} s "
                "accepted"
            )
        principal = Claims.from_payload(self._mapping.bridges_claims(payload)).principal()
        self._verified.put(token, principal, float(payload["exp"]))
        return principal

    async def _key_for(self, header: dict[str, Any], algorithm: str) -> jwt.PyJWK | str:
        if self._jwks is None:
            assert self._key is not None
            return self._key
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("the token does not name its signing key ('kid')")
        key = await self._jwks.key(kid)
        # the key's own algorithm (its JWK "alg", or the one its type implies) must be the token's:
        # otherwise a token could pick how a key is used
        if key.algorithm_name != algorithm:
            raise Unauthorized("the token's algorithm does not match its signing key")
        return key


def _media_type(typ: str) -> str:
    # RFC 7515 4.1.9: compared without case, "application/" may be left out
    typ = typ.strip().lower()
    return typ.removeprefix("application/")


def ensure_dev_keypair(run_dir: Path) -> tuple[Path, Path]:
    """Create (once) the development signing key pair under `run_dir`."""
    private_path, public_path = run_dir / DEV_KEY_NAME, run_dir / DEV_PUBLIC_KEY_NAME
    if not private_path.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private_path, public_path


def mint_token(
    private_key_pem: str,
    *,
    sub: str,
    role: Role,
    agency_id: uuid.UUID | str | None = None,
    email: str | None = None,
    name: str | None = None,
    ttl_s: int = 12 * 3600,
    issuer: str = "bridges",
    audience: str = "bridges",
) -> str:
    """A signed access token for tests and benchmarks (never used by a running service)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if agency_id is not None:
        claims["agency_id"] = str(agency_id)
    if email is not None:
        claims["email"] = email
    if name is not None:
        claims["name"] = name
    return jwt.encode(
        claims, private_key_pem, algorithm="ES256", headers={"typ": ACCESS_TOKEN_TYPE}
    )
