"""docker-compose.yml checked without a Docker engine: the Compose specification, and each
service's environment against the settings model the service really reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from bridges_directory.bootstrap import DirectorySettings
from bridges_kit.settings import Environment, ServiceSettings
from bridges_notifications.bootstrap import NotificationsSettings
from bridges_referrals.bootstrap import ReferralsSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "directory": DirectorySettings,
    "referrals": ReferralsSettings,
    "notifications": NotificationsSettings,
    "directory-seed": DirectorySettings,
}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _env_example() -> dict[str, str]:
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _interpolate(value: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env:
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise AssertionError(f"${{{name}}} is neither in deploy/env.example nor defaulted")

    return VARIABLE.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_file_follows_the_compose_specification(compose):
    schema = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


def test_every_variable_is_documented_in_the_env_example():
    env = _env_example()
    for match in VARIABLE.finditer(COMPOSE.read_text()):
        if not (match["op"] or "").endswith("-"):
            assert match["name"] in env, f"{match['name']} missing from deploy/env.example"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_service_environment_is_read_by_its_settings_model(compose, name):
    settings_model = SETTINGS[name]
    service = compose["services"][name]
    env = {
        key: _interpolate(str(value), _env_example())
        for key, value in service["environment"].items()
    }
    unknown = {
        key
        for key in env
        if key.startswith("BRIDGES_") and key[8:].lower() not in settings_model.model_fields
    }
    assert not unknown, f"{name}: settings model has no field for {unknown}"
    settings = settings_model.from_env(env)
    assert settings.environment is Environment.PRODUCTION
    assert settings.jwt_public_key_file is not None
    assert "jwt_public_key" in service["secrets"]
    database = urlsplit(settings.database_url.get_secret_value())
    assert (database.hostname, database.path) == (
        "postgres",
        f"/bridges_{settings_model().service_name}",
    )
    assert urlsplit(settings.nats_url).hostname == "nats"


@pytest.mark.parametrize("name", ["directory", "referrals", "notifications"])
def test_services_wait_for_healthy_dependencies_and_report_their_own_health(compose, name):
    services = compose["services"]
    service = services[name]
    for dependency, condition in service["depends_on"].items():
        assert condition == {"condition": "service_healthy"}
        assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    port = service["environment"]["BRIDGES_HTTP_PORT"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["build"]["args"]["SERVICE"] == name
    assert service.get("user", "") not in {"root", "0"}


def test_image_runs_as_a_non_root_user_and_databases_match_the_init_script(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    init = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    services = re.search(r"for service in ([a-z ]+); do", init)
    assert services is not None
    assert set(services[1].split()) == {"directory", "referrals", "notifications"}
    volumes = compose["services"]["postgres"]["volumes"]
    assert any("init-databases.sh:/docker-entrypoint-initdb.d/" in v for v in volumes)
    assert "--jetstream" in compose["services"]["nats"]["command"]
    assert any(v.endswith(":/data") for v in compose["services"]["nats"]["volumes"])
