"""Composition root of the notifications service: settings, reactions to events, workers, app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator

from bridges_kit import problems
from bridges_kit.consumer import Subscription
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime, Worker
from bridges_kit.settings import ServiceSettings
from bridges_notifications import api, delivery_log, endpoints, fanout, netguard, retry
from bridges_notifications.delivery import DeliveryPolicy, DeliveryWorker, MailSettings
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
    endpoints.NoEmail: problems.Unprocessable,
    netguard.UnsafeUrl: problems.Unprocessable,
    delivery_log.DeliveryNotFound: problems.NotFound,
}


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8103
    webhook_retry_schedule_s: tuple[float, ...] = Field(default=retry.DEFAULT_SCHEDULE_S)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    delivery_lease_s: float = Field(default=60.0, gt=0)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_per_endpoint: int = Field(default=4, ge=1, le=64)
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_cooldown_s: float = Field(default=60.0, gt=0)
    webhook_allowed_networks: tuple[str, ...] = Field(
        default=(),
        description='CIDRs webhooks may reach despite being private, e.g. ["10.0.0.0/8"]',
    )
    referral_link_base: str = Field(
        default="http://127.0.0.1:8102", description="links in emails: <base>/referrals/<id>"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Bridges <no-reply@bridges.example.org>"

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        netguard.parse_networks(value)  # raises on a malformed CIDR
        return value

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            schedule_s=self.webhook_retry_schedule_s,
            timeout_s=self.webhook_timeout_s,
            lease_s=max(self.delivery_lease_s, self.webhook_timeout_s * 2),
            concurrency=self.delivery_concurrency,
            per_endpoint=self.delivery_per_endpoint,
            breaker_failures=self.breaker_failures,
            breaker_cooldown_s=self.breaker_cooldown_s,
            poll_s=self.outbox_poll_s,
            allowed_networks=netguard.parse_networks(self.webhook_allowed_networks),
            link_base=self.referral_link_base,
            mail=MailSettings(
                host=self.smtp_host,
                port=self.smtp_port,
                starttls=self.smtp_starttls,
                use_tls=self.smtp_tls,
                username=self.smtp_username,
                password=self.smtp_password.get_secret_value() if self.smtp_password else None,
                sender=self.mail_from,
            ),
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
    runtime = runtime or build_runtime()
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    app = create_app(
        runtime,
        title="Bridges notifications",
        description="Signed webhooks and email to agencies and officers: retries, dead letters, replay.",
        routers=[api.router],
        error_map=ERRORS,
    )
    app.state.allowed_networks = netguard.parse_networks(settings.webhook_allowed_networks)
    return app
