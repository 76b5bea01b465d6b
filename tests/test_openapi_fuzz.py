"""Schemathesis against every operation of every service's OpenAPI document, on the three real
services: requests generated from the document (valid and invalid ones, at random ids and at the
real objects of tests/world.py), each sent with a token of every role, never get a 5xx, and every
answer has a documented status, content type and schema (problem+json type included).

Bounded and deterministic: a few examples per operation, derandomized, no shrinking."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bridges_directory import bootstrap as directory
from bridges_notifications import bootstrap as notifications
from bridges_referrals import bootstrap as referrals
from bridges_schema import Role
from tests import world as worlds

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# each sent once per role: the whole run stays under two minutes; raise it to search harder
EXAMPLES_PER_OPERATION = int(os.environ.get("BRIDGES_FUZZ_EXAMPLES", "5"))
FUZZ_API = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # a failure is reported as found, never shrunk
    suppress_health_check=list(HealthCheck),
)
_PARAMETER = re.compile(r"{([^}]+)}")


def _documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, from its app as `make up` builds it (for collection;
    the test fuzzes the document the running service serves)."""
    built = {
        "directory": directory.build_app(
            directory.build_runtime(directory.DirectorySettings(jwt_public_key="unused"))
        ),
        "referrals": referrals.build_app(
            referrals.build_runtime(referrals.ReferralsSettings(jwt_public_key="unused"))
        ),
        "notifications": notifications.build_app(
            notifications.build_runtime(
                notifications.NotificationsSettings(jwt_public_key="unused")
            )
        ),
    }
    return {name: app.openapi() for name, app in built.items()}


OPERATIONS = [
    (service, method.upper(), path)
    for service, document in _documents().items()
    for path, operations in document["paths"].items()
    for method in operations
]


class Fuzzed:
    """The running services' documents as schemathesis reads them, and the world's objects."""

    def __init__(self, world: worlds.World, documents: dict[str, dict[str, Any]]) -> None:
        self.world = world
        self.schemas = {name: schemathesis.openapi.from_dict(d) for name, d in documents.items()}
        self._strategies: dict[tuple[str, str, str], Any] = {}

    def cases(self, service: str, method: str, path: str) -> Any:
        """Valid and invalid requests, at random ids and (where it has ids) at the world's."""
        key = (service, method, path)
        if key not in self._strategies:
            operation = self.schemas[service][path][method]
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
            strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
            names = _PARAMETER.findall(path)
            if names:
                real = {name: self.world.ids[name] for name in names}
                strategies.append(operation.as_strategy(path_parameters=real))
            self._strategies[key] = st.one_of(strategies)
        return self._strategies[key]


@pytest.fixture(scope="module")
async def fuzzed(module_stack, module_receiver) -> Fuzzed:
    world = await worlds.build(module_stack, module_receiver.url)
    documents = {}
    for service in worlds.SERVICES:
        async with world.service(service).client() as c:
            documents[service] = (await c.get("/openapi.json")).json()
    return Fuzzed(world, documents)


@pytest.mark.parametrize(
    ("service", "method", "path"), OPERATIONS, ids=[f"{s} {m} {p}" for s, m, p in OPERATIONS]
)
@FUZZ_API
@given(data=st.data())
async def test_every_answer_is_documented_and_none_is_a_server_error(
    fuzzed: Fuzzed, service: str, method: str, path: str, data: st.DataObject
):
    case = data.draw(fuzzed.cases(service, method, path), label="request")
    running = fuzzed.world.service(service)
    async with httpx.AsyncClient(timeout=15) as client:
        for role in Role:
            bearer = {"Authorization": f"Bearer {fuzzed.world.token(role)}"}
            sent = case.as_transport_kwargs(base_url=running.url, headers=bearer)
            assert not sent.get("cookies")  # no operation takes any
            response = await client.request(
                sent["method"],
                sent["url"],
                params=sent.get("params"),
                headers=sent.get("headers"),
                json=sent.get("json"),
                content=sent.get("data"),
            )
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as failure:
                raise AssertionError(f"answering {role.value}: {failure}") from None
