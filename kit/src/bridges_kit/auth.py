"""JWT bearer authentication and role checks (PyJWT), plus minting dev tokens.

Tokens carry `sub`, `role` (officer | agency_staff | admin | ops), `agency_id` for agency staff,
and optionally `email` and `name`. Keys: a PEM public key, or a JWKS URL.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bridges_kit.principal import Principal
from bridges_kit.problems import Unauthorized
from bridges_schema import Role

DEV_KEY_NAME = "dev-jwt-key.pem"
DEV_PUBLIC_KEY_NAME = "dev-jwt-key.pub.pem"


class TokenVerifier:
    def __init__(
        self,
        *,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
        issuer: str = "bridges",
        audience: str = "bridges",
        algorithms: tuple[str, ...] = ("ES256", "RS256", "EdDSA"),
    ) -> None:
        if not public_key_pem and not jwks_url:
            raise ValueError("a JWT public key or a JWKS URL is required")
        self._key = public_key_pem
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("send an 'Authorization: Bearer <token>' header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        try:
            key: Any = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token.strip(),
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("the token has no valid 'role' claim") from None
    agency_id: uuid.UUID | None = None
    if claims.get("agency_id"):
        try:
            agency_id = uuid.UUID(str(claims["agency_id"]))
        except ValueError:
            raise Unauthorized("the token's 'agency_id' is not a UUID") from None
    if role is Role.AGENCY_STAFF and agency_id is None:
        raise Unauthorized("agency staff tokens need an 'agency_id' claim")
    return Principal(
        sub=str(claims["sub"])[:128],
        role=role,
        agency_id=agency_id,
        email=claims.get("email"),
        name=claims.get("name"),
    )


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
    ttl_s: int = 12 * 3600,
    issuer: str = "bridges",
    audience: str = "bridges",
) -> str:
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
    return jwt.encode(claims, private_key_pem, algorithm="ES256")
