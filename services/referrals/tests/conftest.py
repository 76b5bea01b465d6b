"""A referrals service on a fresh schema, with programs put straight into its read-model."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from bridges_devstack.samples import consent, intake_body
from bridges_devstack.testing import Infra, RunningService
from bridges_kit.runtime import Runtime
from bridges_referrals import intake as intake_use_case
from bridges_referrals.bootstrap import ReferralsSettings, build_app, build_runtime
from bridges_referrals.domain import Program
from bridges_referrals.repository import SqlPrograms
from bridges_schema import Role

SLOW_SWEEPS = {
    "BRIDGES_SLA_SWEEP_INTERVAL_S": "3600",
    "BRIDGES_RETENTION_SWEEP_INTERVAL_S": "3600",
    "BRIDGES_STATS_CACHE_S": "0",
}


def build(env: dict[str, str]) -> tuple[FastAPI, Runtime]:
    runtime = build_runtime(ReferralsSettings.from_env(env))
    return build_app(runtime), runtime


@dataclass
class Desk:
    """One referrals service with two agencies' programs and an officer."""

    service: RunningService
    infra: Infra
    agency_a: uuid.UUID
    agency_b: uuid.UUID
    program_a: uuid.UUID
    program_b: uuid.UUID
    officer: str

    @property
    def pool(self) -> Any:
        return self.service.runtime.pool

    def token(self, role: Role, agency: uuid.UUID | None = None, sub: str | None = None) -> str:
        if role is Role.OFFICER:
            return self.infra.token(role, sub=sub or self.officer)
        if role is Role.AGENCY_STAFF:
            return self.infra.token(role, sub=sub or "staff-1", agency_id=agency or self.agency_a)
        return self.infra.token(role, sub=sub or f"{role.value}-1")

    def client(self, role: Role, **kwargs: Any) -> Any:
        return self.service.client(self.token(role, **kwargs))

    async def add_program(self, agency: uuid.UUID, code: str = "food.pantry") -> uuid.UUID:
        return await add_program(self.pool, agency, code)

    @staticmethod
    def intake(programs: list[uuid.UUID], **overrides: Any) -> dict[str, Any]:
        return intake(programs, **overrides)

    async def file(self, programs: list[uuid.UUID] | None = None, **overrides: Any) -> dict:
        body = intake(programs or [self.program_a], **overrides)
        async with self.client(Role.OFFICER) as c:
            response = await c.post(
                "/referrals", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
        assert response.status_code == 201, response.text
        return response.json()


def intake(program_ids: list[uuid.UUID], **overrides: Any) -> dict[str, Any]:
    family = {
        "family_name": "Quintanilla-Okafor",
        "contact": {
            "preferred_language": "es",
            "preferred_channel": "sms",
            "interpreter_needed": True,
            "best_time": "after 6pm",
        },
    }
    fields = {
        "needs": ["food.pantry", "housing.rent"],
        "consent": consent("contact", "household", "needs", "situation"),
        **overrides,
    }
    given = fields.pop("client", {})
    contact = {**family["contact"], **given.get("contact", {})}
    return intake_body(program_ids, client={**family, **given, "contact": contact}, **fields)


async def add_program(pool: Any, agency: uuid.UUID, code: str = "food.pantry") -> uuid.UUID:
    service_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await SqlPrograms(conn).apply(
            Program(
                service_id=service_id,
                version=1,
                name=f"Program {service_id.hex[:6]}",
                organization_name="Test Org",
                agency_id=agency,
                status="active",
                accepting_referrals=True,
                capacity_status="available",
                taxonomy_codes=(code,),
            )
        )
    return service_id


@pytest.fixture
async def desk(
    infra: Infra,
    services_factory: Callable[..., Awaitable[RunningService]],
    isolation: tuple[str, str],
) -> Desk:
    schema, namespace = isolation
    service = await services_factory(
        "referrals", build, schema=schema, namespace=namespace, extra_env=SLOW_SWEEPS
    )
    agency_a, agency_b = uuid.uuid4(), uuid.uuid4()
    pool = service.runtime.pool
    return Desk(
        service,
        infra,
        agency_a,
        agency_b,
        await add_program(pool, agency_a),
        await add_program(pool, agency_b, "housing.rent"),
        officer=f"badge-{namespace}",
    )


@pytest.fixture
def start_referrals(
    services_factory: Callable[..., Awaitable[RunningService]], isolation: tuple[str, str]
) -> Callable[[dict[str, str]], Awaitable[RunningService]]:
    """Start a referrals service on this test's schema with more settings (BRIDGES_* names)."""

    async def start(extra_env: dict[str, str]) -> RunningService:
        schema, namespace = isolation
        return await services_factory(
            "referrals",
            build,
            schema=schema,
            namespace=namespace,
            extra_env={**SLOW_SWEEPS, **extra_env},
        )

    return start


@pytest.fixture
def careful_intakes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Idempotency-Keys of the intakes that took the path that reads first (not the one
    statement): a spy on `intake._file_after_reading`."""
    keys: list[str] = []
    read_first = intake_use_case._file_after_reading

    async def spy(uow: Any, targets: Any, officer: Any, request: Any, key: str, *rest: Any) -> Any:
        keys.append(key)
        return await read_first(uow, targets, officer, request, key, *rest)

    monkeypatch.setattr(intake_use_case, "_file_after_reading", spy)
    return keys
