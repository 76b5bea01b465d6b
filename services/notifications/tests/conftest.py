"""A notifications service on a fresh schema and NATS namespace, real receivers and a real SMTP
server; referral events are published on the bus as the referrals service would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port
from bridges_devstack.testing import Infra, RunningService
from bridges_kit import bus
from bridges_kit.runtime import Runtime
from bridges_notifications.bootstrap import NotificationsSettings, build_app, build_runtime
from bridges_schema import (
    REFERRAL_REQUESTED,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    Urgency,
    event_spec,
    new_event,
    referral_status_event,
)
from bridges_schema.subjects import Domain


def build(env: dict[str, str]) -> tuple[FastAPI, Runtime]:
    runtime = build_runtime(NotificationsSettings.from_env(env))
    return build_app(runtime), runtime


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""

    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@dataclass
class Desk:
    service: RunningService
    infra: Infra
    agency: uuid.UUID
    officer: str = "badge-77"

    @property
    def pool(self) -> Any:
        return self.service.runtime.pool

    def client(self, role: Role = Role.ADMIN, **claims: Any) -> Any:
        return self.service.client(self.infra.token(role, **claims))

    async def endpoint(
        self, url: str, agency: uuid.UUID | None = None, **fields: Any
    ) -> dict[str, Any]:
        async with self.client() as c:
            response = await c.post(
                f"/agencies/{agency or self.agency}/endpoints", json={"url": url, **fields}
            )
        assert response.status_code == 201, response.text
        return response.json()

    async def publish(
        self, status: ReferralStatus = ReferralStatus.REQUESTED, agency: uuid.UUID | None = None
    ) -> Any:
        """A referral event on the bus, as the referrals service's outbox relay sends it."""
        event = referral_event(agency or self.agency, self.officer, status)
        runtime = self.service.runtime
        await runtime.js.publish(
            event_spec(event).subject(runtime.streams.namespace),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )
        return event

    async def attempts(self, event_id: str) -> list[Any]:
        return await self.pool.fetch(
            """SELECT a.status_code, a.error FROM delivery_attempt a
               JOIN delivery d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.id""",
            event_id,
        )


def referral_event(agency: uuid.UUID, officer: str, status: ReferralStatus) -> Any:
    now, referral_id = datetime.now(UTC), uuid.uuid4()
    if status is ReferralStatus.REQUESTED:
        data: Any = ReferralRequested(
            referral_id=referral_id,
            case_id=uuid.uuid4(),
            program_id=uuid.uuid4(),
            agency_id=agency,
            urgency=Urgency.HIGH,
            need_codes=("food.pantry",),
            officer_id=officer,
            version=1,
            requested_at=now,
            respond_by=now + timedelta(days=1),
        )
        spec: Any = REFERRAL_REQUESTED
    else:
        data = ReferralStatusChanged(
            referral_id=referral_id,
            case_id=uuid.uuid4(),
            program_id=uuid.uuid4(),
            agency_id=agency,
            officer_id=officer,
            status=status,
            previous_status=ReferralStatus.REQUESTED,
            urgency=Urgency.HIGH,
            actor_role=Role.AGENCY_STAFF,
            version=2,
            changed_at=now,
        )
        spec = referral_status_event(status)
    return new_event(spec, data, source="/bridges/referrals", subject=str(referral_id))


@pytest.fixture
def make_event() -> Callable[..., Any]:
    return referral_event


FAST = {
    "BRIDGES_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.3, 0.4]",
    "BRIDGES_WEBHOOK_TIMEOUT_S": "1",
    "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "BRIDGES_BREAKER_FAILURES": "50",
}


@pytest.fixture
def start_desk(
    infra: Infra,
    services_factory: Callable[..., Awaitable[RunningService]],
    isolation: tuple[str, str],
) -> Callable[..., Awaitable[Desk]]:
    async def start(**env: str) -> Desk:
        schema, namespace = isolation
        service = await services_factory(
            "notifications", build, schema=schema, namespace=namespace, extra_env={**FAST, **env}
        )
        # the referrals service declares the stream it publishes to (a service declares only
        # its own); here the tests publish its events, so they declare it
        runtime = service.runtime
        await bus.ensure_streams(runtime.js, runtime.streams, domains=[Domain.REFERRAL])
        return Desk(service, infra, uuid.uuid4())

    return start


@pytest.fixture
async def desk(start_desk: Callable[..., Awaitable[Desk]]) -> Desk:
    return await start_desk()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    running = await WebhookReceiver().start()
    yield running
    await running.stop()
