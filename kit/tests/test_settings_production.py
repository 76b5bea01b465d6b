"""Production settings refuse what would send keys, links or sign-in over plain HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bridges_kit.settings import ServiceSettings

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "public_url": "https://bridges.example.org/api/directory",
    "jwt_jwks_url": "https://id.example.org/realms/bridges/protocol/openid-connect/certs",
    "nats_url": "tls://nats:4222",
    "nats_nkey_seed_file": "/run/secrets/nats_directory_nkey",
}


def test_production_settings_with_https_everywhere_are_accepted():
    assert ServiceSettings(**PRODUCTION).base_url == PRODUCTION["public_url"]


@pytest.mark.parametrize(
    ("setting", "name"),
    [("public_url", "BRIDGES_PUBLIC_URL"), ("jwt_jwks_url", "BRIDGES_JWT_JWKS_URL")],
)
def test_production_refuses_a_plain_http_url(setting: str, name: str):
    insecure = {**PRODUCTION, setting: "http://bridges.example.org/x"}
    with pytest.raises(ValidationError, match=f"production needs an https:// URL in {name}"):
        ServiceSettings(**insecure)
    ServiceSettings(**{**insecure, "environment": "development"})  # development: as you like


def test_only_a_test_stand_in_provider_may_be_reached_over_http_and_only_when_said():
    stand_in = {**PRODUCTION, "jwt_jwks_url": "http://idp:8104/jwks"}
    with pytest.raises(ValidationError, match="BRIDGES_JWT_JWKS_URL"):
        ServiceSettings(**stand_in)
    assert ServiceSettings(**stand_in, allow_http_identity_provider=True).jwt_jwks_url
    with pytest.raises(ValidationError, match="BRIDGES_PUBLIC_URL"):  # never the API's own links
        ServiceSettings(**{**stand_in, "public_url": "http://x"}, allow_http_identity_provider=True)
