"""Settings are parsed by one source in tests and in production: `from_env(mapping)` reads a
mapping with the same pydantic-settings source that reads the process environment, so the same
BRIDGES_* values give the same settings (JSON values, booleans, empty values, other names)."""

import os

import pytest

from bridges_kit.settings import ServiceSettings

ENV = {
    "BRIDGES_SERVICE_NAME": "referrals",
    "BRIDGES_ENVIRONMENT": "test",
    "BRIDGES_HTTP_PORT": "8123",
    "BRIDGES_JWT_ROLE_VALUES": '{"caseworker": "officer", "desk": "agency_staff"}',
    "BRIDGES_CORS_ALLOW_ORIGINS": '["https://tablet.example.org"]',
    "BRIDGES_RATE_LIMITS": "false",
    "BRIDGES_RATE_LIMIT_TOKEN_WRITES": '{"per_minute": 7, "burst": 3}',
    "bridges_log_level": "warning",  # names are case-insensitive, as in os.environ
    "NOT_BRIDGES_HTTP_PORT": "1",
    "PATH": "/usr/bin",
}


def test_a_mapping_and_the_process_environment_give_the_same_settings(monkeypatch):
    for name in [n for n in os.environ if n.upper().startswith("BRIDGES_")]:
        monkeypatch.delenv(name)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    from_process = ServiceSettings()
    from_mapping = ServiceSettings.from_env(ENV)
    assert from_mapping == from_process
    assert from_mapping.http_port == 8123 and from_mapping.log_level == "warning"
    assert from_mapping.rate_limit_token_writes.burst == 3
    assert from_mapping.cors_allow_origins == ["https://tablet.example.org"]


def test_a_bad_value_is_refused_the_same_way():
    with pytest.raises(ValueError, match="http_port"):
        ServiceSettings.from_env({"BRIDGES_HTTP_PORT": "not-a-port"})
