"""Cross-service fixtures: the three services in-process over real HTTP, sharing one NATS
namespace and each with its own fresh schema, plus a real webhook receiver."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port
from bridges_devstack.testing import Infra, RunningService, fresh_name, start_service
from bridges_directory import bootstrap as directory_bootstrap
from bridges_kit.runtime import Runtime
from bridges_notifications import bootstrap as notifications_bootstrap
from bridges_referrals import bootstrap as referrals_bootstrap
from bridges_schema import Role

# tests/compose/ runs docker-compose.yml on a Docker engine: `make compose-test` only
collect_ignore = [] if os.environ.get("BRIDGES_COMPOSE_TEST") else ["compose"]


def _builder(module: Any, settings_cls: Any) -> Callable[[dict[str, str]], tuple[FastAPI, Runtime]]:
    def build(env: dict[str, str]) -> tuple[FastAPI, Runtime]:
        runtime = module.build_runtime(settings_cls.from_env(env))
        return module.build_app(runtime), runtime

    return build


BUILDERS = {
    "directory": _builder(directory_bootstrap, directory_bootstrap.DirectorySettings),
    "referrals": _builder(referrals_bootstrap, referrals_bootstrap.ReferralsSettings),
    "notifications": _builder(
        notifications_bootstrap, notifications_bootstrap.NotificationsSettings
    ),
}

FAST_RETRIES = {
    "BRIDGES_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.4, 0.8]",
    "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',  # the test receivers are local
}


@dataclass
class Stack:
    infra: Infra
    namespace: str
    directory: RunningService
    referrals: RunningService
    notifications: RunningService
    agency_id: uuid.UUID

    def token(self, role: Role, **claims: Any) -> str:
        if role is Role.AGENCY_STAFF:
            claims.setdefault("agency_id", self.agency_id)
        claims.setdefault("sub", f"{role.value}-{self.namespace}")
        return self.infra.token(role, **claims)


# What families' follow-up messages need: the services' shared key (notifications fetches a
# message from referrals, whose address it learns when referrals has started) and, in tests
# that send them, no wait and no hours.
SERVICE_KEY = "test-services-key-" + "k" * 24
FOLLOW_UPS_AT_ONCE = {
    "BRIDGES_FOLLOWUP_DELAY_S": "0",
    "BRIDGES_FOLLOWUP_SWEEP_INTERVAL_S": "0.2",
    "BRIDGES_FOLLOWUP_HOURS": "00:00-00:00",
}


async def start_stack(
    infra: Infra,
    services_factory: Callable[..., Awaitable[RunningService]],
    **extra_env: dict[str, str],
) -> Stack:
    """The three services in a fresh namespace; `extra_env[name]` adds to one service's
    settings (notifications always retries fast, may reach the local test receivers and
    fetches families' messages from this referrals service)."""
    namespace = fresh_name()
    started: dict[str, RunningService] = {}
    for name, build in BUILDERS.items():
        own = {"BRIDGES_SERVICE_KEY": SERVICE_KEY} if name != "directory" else {}
        if name == "notifications":
            own |= {**FAST_RETRIES, "BRIDGES_REFERRALS_URL": started["referrals"].url}
        started[name] = await services_factory(
            name,
            build,
            schema=namespace,
            namespace=namespace,
            extra_env={**own, **extra_env.get(name, {})},
        )
    return Stack(infra, namespace, agency_id=uuid.uuid4(), **started)


@pytest.fixture
async def stack(infra: Infra, services_factory: Callable[..., Awaitable[RunningService]]) -> Stack:
    return await start_stack(infra, services_factory)


@pytest.fixture(scope="module")
async def module_stack(infra: Infra) -> AsyncIterator[Stack]:
    """One stack for a whole module, for tests that build their objects once and share them."""
    namespace = fresh_name()
    started: dict[str, RunningService] = {}
    try:
        for name, build in BUILDERS.items():
            extra = FAST_RETRIES if name == "notifications" else {}
            env = {**infra.env(name, namespace, namespace), **extra}
            started[name] = await start_service(name, build, env)
        yield Stack(infra, namespace, agency_id=uuid.uuid4(), **started)
    finally:
        await asyncio.gather(*(running.stop() for running in started.values()))


@pytest.fixture(scope="module")
async def module_receiver() -> AsyncIterator[WebhookReceiver]:
    running = await WebhookReceiver().start()
    yield running
    await running.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    running = await WebhookReceiver().start()
    yield running
    await running.stop()


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) keeping the raw messages it receives."""

    port: int
    messages: list[bytes]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port(), [])
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()
