"""/metrics and the API docs over real HTTP: for ops and admins only where
BRIDGES_OPS_ONLY_ENDPOINTS is on (production's default), Prometheus's scrape token on /metrics
only, and open to all where it is off (development's default)."""

from __future__ import annotations

import pytest

from bridges_devstack.testing import RunningService, fresh_name
from bridges_kit.settings import Environment, ServiceSettings
from bridges_schema import Role
from tests.conftest import BUILDERS

pytestmark = pytest.mark.e2e

OPS_ENDPOINTS = ("/metrics", "/openapi.json", "/docs", "/redoc")
SCRAPE_TOKEN = "s" * 40


async def _directory(services_factory, **env: str) -> RunningService:
    isolated = fresh_name()
    return await services_factory(
        "directory", BUILDERS["directory"], schema=isolated, namespace=isolated, extra_env=env
    )


@pytest.fixture
async def ops_only(services_factory) -> RunningService:
    return await _directory(
        services_factory,
        BRIDGES_OPS_ONLY_ENDPOINTS="true",
        BRIDGES_METRICS_TOKEN=SCRAPE_TOKEN,
    )


@pytest.mark.parametrize("path", OPS_ENDPOINTS)
async def test_ops_only_endpoints_answer_ops_and_admins(ops_only, infra, path):
    answers = {}
    for who, token in {
        "nobody": None,
        "officer": infra.token(Role.OFFICER),
        "staff": infra.token(Role.AGENCY_STAFF, agency_id="6f1c1a4e-1d2b-4c53-9a55-000000000001"),
        "ops": infra.token(Role.OPS),
        "admin": infra.token(Role.ADMIN),
    }.items():
        async with ops_only.client(token) as c:
            answers[who] = await c.get(path)
    assert answers["nobody"].status_code == 401
    assert answers["nobody"].headers["WWW-Authenticate"] == "Bearer"
    assert answers["officer"].status_code == answers["staff"].status_code == 403
    for refused in ("nobody", "officer", "staff"):
        assert answers[refused].headers["content-type"] == "application/problem+json"
        assert (
            "/services" not in answers[refused].text
            and "http_requests" not in answers[refused].text
        )
    assert answers["ops"].status_code == answers["admin"].status_code == 200


async def test_the_openapi_schema_for_ops_is_the_whole_api(ops_only, infra):
    async with ops_only.client(infra.token(Role.OPS)) as c:
        schema = (await c.get("/openapi.json")).json()
        docs = await c.get("/docs")
    assert "/services" in schema["paths"]
    assert "openapi.json" in docs.text


async def test_prometheus_scrapes_metrics_with_its_token_and_nothing_else(ops_only):
    async with ops_only.client(SCRAPE_TOKEN) as c:
        metrics = await c.get("/metrics")
        schema = await c.get("/openapi.json")
    async with ops_only.client(SCRAPE_TOKEN[:-1] + "x") as c:
        wrong = await c.get("/metrics")
    assert metrics.status_code == 200 and "http_requests" in metrics.text
    assert schema.status_code == 401
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", OPS_ENDPOINTS)
async def test_with_ops_only_off_they_are_open(services_factory, path):
    directory = await _directory(services_factory, BRIDGES_OPS_ONLY_ENDPOINTS="false")
    async with directory.client() as c:
        assert (await c.get(path)).status_code == 200


def test_ops_only_is_the_default_in_production_only():
    production = ServiceSettings(
        environment=Environment.PRODUCTION,
        public_url="https://bridges.example.org/api/directory",
        jwt_jwks_url="https://id.example.org/jwks",
        nats_url="tls://nats:4222",
        nats_nkey_seed_file="/run/secrets/nats_directory_nkey",
    )
    assert production.ops_only
    assert not ServiceSettings(environment=Environment.DEVELOPMENT).ops_only
    assert not ServiceSettings(environment=Environment.TEST).ops_only
    assert not production.model_copy(update={"ops_only_endpoints": False}).ops_only


@pytest.mark.parametrize("token", ["short", "x" * 31])
def test_a_short_scrape_token_is_refused_at_start_up(token):
    with pytest.raises(ValueError, match="32 characters"):
        ServiceSettings(metrics_token=token)
