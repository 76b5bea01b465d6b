"""Verified tokens are kept until they expire, bounded in number and age; a token that never
passed verification is never kept, so a forgery cannot ride on the cache."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bridges_kit.auth import TokenVerifier, mint_token
from bridges_kit.principal import Principal
from bridges_kit.problems import Unauthorized
from bridges_kit.verified_tokens import VerifiedTokens
from bridges_schema import Role

OFFICER = Principal(sub="badge-1", role=Role.OFFICER)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_kept_until_its_expiry_and_no_longer() -> None:
    clock = Clock()
    kept = VerifiedTokens(clock=clock)
    kept.put("t1", OFFICER, expires_at=clock.now + 60)
    assert kept.get("t1") == OFFICER
    clock.now += 60
    assert kept.get("t1") is None and len(kept) == 0


def test_no_token_is_kept_longer_than_max_age() -> None:
    clock = Clock()
    kept = VerifiedTokens(max_age_s=30, clock=clock)
    kept.put("long-lived", OFFICER, expires_at=clock.now + 12 * 3600)
    clock.now += 31
    assert kept.get("long-lived") is None


def test_the_table_is_bounded_least_recently_used_out_first() -> None:
    kept = VerifiedTokens(max_entries=3)
    for name in ("a", "b", "c"):
        kept.put(name, OFFICER, expires_at=time.time() + 60)
    assert kept.get("a") == OFFICER  # used: "b" is now the least recently used
    kept.put("d", OFFICER, expires_at=time.time() + 60)
    assert len(kept) == 3 and kept.get("b") is None and kept.get("a") == OFFICER


def test_an_expired_token_is_not_kept() -> None:
    kept = VerifiedTokens()
    kept.put("old", OFFICER, expires_at=time.time() - 1)
    assert len(kept) == 0


def _key_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_a_verified_token_is_checked_once_and_a_forgery_never_rides_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = _key_pair()
    verifier = TokenVerifier(public_key_pem=public)
    token = mint_token(private, sub="badge-1", role=Role.OFFICER, ttl_s=300)
    decoded: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(
        jwt, "decode", lambda t, *a, **k: decoded.append(t) or real_decode(t, *a, **k)
    )
    first = await verifier.verify(f"Bearer {token}")
    again = await verifier.verify(f"Bearer {token}")
    assert first == again and first.sub == "badge-1" and decoded == [token]  # one signature check
    forged = mint_token(_key_pair()[0], sub="badge-1", role=Role.OFFICER, ttl_s=300)
    for _ in range(2):  # refused every time: a failure is never kept
        with pytest.raises(Unauthorized):
            await verifier.verify(f"Bearer {forged}")
    assert decoded.count(forged) == 2


def test_tokens_are_kept_by_digest_not_as_themselves() -> None:
    kept = VerifiedTokens()
    secret = f"token-{uuid.uuid4()}"
    kept.put(secret, OFFICER, expires_at=time.time() + 60)
    assert all(secret.encode() not in key for key in kept._entries)
