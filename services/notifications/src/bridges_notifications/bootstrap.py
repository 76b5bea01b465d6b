"""Composition root of the notifications service: settings, reactions to events, workers, app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from bridges_kit import problems
from bridges_kit.consumer import Subscription
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime, Worker
from bridges_kit.settings import ServiceSettings
from bridges_notifications import api, delivery_log, endpoints, fanout, retry
from bridges_notifications.delivery import DeliveryPolicy, DeliveryWorker
from bridges_schema import REFERRAL_EVENTS
from bridges_schema.subjects import Domain

MIGRATIONS = Path(__file__).parent / "migrations"

# What reacts to which event: every referral event may interest the receiving agency.
SUBSCRIPTIONS = [
    Subscription(
        durable="notifications-referrals",
        domain=Domain.REFERRAL,
        handlers={spec: fanout.on_referral_event for spec in REFERRAL_EVENTS},
    ),
]

ERRORS: problems.ErrorMap = {
    endpoints.EndpointNotFound: problems.NotFound,
    endpoints.UnknownEventType: problems.Unprocessable,
    delivery_log.DeliveryNotFound: problems.NotFound,
}


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8103
    webhook_retry_schedule_s: tuple[float, ...] = Field(default=retry.DEFAULT_SCHEDULE_S)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    delivery_lease_s: float = Field(default=60.0, gt=0)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            schedule_s=self.webhook_retry_schedule_s,
            timeout_s=self.webhook_timeout_s,
            lease_s=max(self.delivery_lease_s, self.webhook_timeout_s * 2),
            concurrency=self.delivery_concurrency,
            poll_s=self.outbox_poll_s,
        )


def _delivery_worker(runtime: Runtime) -> Worker:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return DeliveryWorker(runtime.pool, runtime.streams, settings.delivery_policy())


def build_runtime(settings: NotificationsSettings | None = None) -> Runtime:
    return Runtime(
        settings or NotificationsSettings(),
        migrations=MIGRATIONS,
        subscriptions=SUBSCRIPTIONS,
        workers=[_delivery_worker],
    )


def build_app(runtime: Runtime | None = None) -> FastAPI:
    return create_app(
        runtime or build_runtime(),
        title="Bridges notifications",
        description="Signed webhooks to agencies, with retries, dead letters and replay.",
        routers=[api.router],
        error_map=ERRORS,
    )
