"""Composition root of the notifications service: settings, reactions to events, workers, app."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import asyncpg
import structlog
from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator

from bridges_kit import problems
from bridges_kit.bus_access import BusUser
from bridges_kit.consumer import Consumer, ConsumerPolicy, Subscription, on
from bridges_kit.http import create_app
from bridges_kit.runtime import KeyRingRuntime, Runtime
from bridges_kit.sealing import KeyRing
from bridges_kit.settings import KeyRingSettings, ServiceSettings
from bridges_kit.signed_links import LinkSigner, checked_key
from bridges_kit.workers import Worker
from bridges_notifications import (
    access,
    api,
    attempts,
    delivery_log,
    domain,
    fanout,
    listing_reviews,
    netguard,
    retry,
    signing_secrets,
    sms,
)
from bridges_notifications.family_messages import FamilyMessages
from bridges_notifications.repository import WAKE_CHANNEL, SqlUnitOfWork
from bridges_notifications.scheduling import DeliveryWorker, SchedulingPolicy
from bridges_notifications.transports import (
    EmailTransport,
    MailSettings,
    Transport,
    WebhookTransport,
)
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import (
    FamilyFeedbackReceived,
    FollowUpDue,
    ListingReviewRequested,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatusChanged,
    Streams,
)
from bridges_schema.subjects import Domain

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Pooled connections the process needs at once besides the consumer lanes: the delivery
# worker's claim and its attempt commits, the outbox relay, an API request.
CONNECTIONS_BESIDES_LANES = 4

# What reacts to which event: every referral event may interest the receiving agency; a
# family's follow-up is sent to the family, and its answer may alert the officer; the
# directory's "please confirm your listing" is emailed to the agency.
SUBSCRIPTIONS: list[Subscription[NotificationsUnitOfWork]] = [
    Subscription(
        "notifications-referrals",
        Domain.REFERRAL,
        (
            on(ReferralRequested, fanout.on_referral_requested),
            on(ReferralStatusChanged, fanout.on_referral_status_changed),
            on(ReferralOverdue, fanout.on_referral_overdue),
            on(FollowUpDue, fanout.on_follow_up_due),
            on(FamilyFeedbackReceived, fanout.on_family_feedback_received),
        ),
    ),
    Subscription(
        "notifications-directory",
        Domain.DIRECTORY,
        (on(ListingReviewRequested, listing_reviews.on_listing_review_requested),),
    ),
]

# its NATS user: publishes delivery events, reads the referral events above
BUS_USER = BusUser.of(Domain.DELIVERY, SUBSCRIPTIONS)

ERRORS: problems.ErrorMap = {
    domain.EndpointNotFound: problems.NotFound,
    domain.AgencyNotFound: problems.NotFound,
    domain.UnknownEventType: problems.Unprocessable,
    domain.NoEmail: problems.Unprocessable,
    domain.DeliveryNotFound: problems.NotFound,
    domain.RecipientNotFound: problems.NotFound,
    domain.EndpointNotDelivering: problems.Conflict,
    netguard.UnsafeUrl: problems.Unprocessable,
}


class NotificationsSettings(KeyRingSettings):
    """Backpressure, from the bus to the receivers (each stage holds a bounded amount and
    leaves the rest where it is durable):

    - JetStream keeps the referral events (stream limits: `bridges_kit.bus`). This process
      pulls with `consumer_lanes` lanes of up to `consumer_batch` (4 x 32 = 128 unacknowledged
      at most per replica, far below the consumer's `max_ack_pending` of 1000, which bounds
      all replicas together); a lane buffers its batch for well under `consumer_ack_wait_s`,
      and the message in hand is kept leased while it takes long. Lanes take pooled
      connections: never more than `db_pool_max` minus `CONNECTIONS_BESIDES_LANES`, so the
      delivery worker and the relay are never starved by the fan-out.
    - PostgreSQL holds the backlog of deliveries (`delivery`, pending): durable, unbounded by
      design (the retry schedule runs for a day), visible in `GET /deliveries?status=pending`.
    - At most `delivery_concurrency` requests are in flight, at most `delivery_per_endpoint`
      of them (and of unrecorded failures) per endpoint, so a slow receiver holds only its own
      slots; up to `delivery_concurrency` more are waiting for their attempt to be committed
      (one commit for all that ended together). A delivery stays leased until its attempt is
      committed: `delivery_lease_s` at a time, renewed every third of it while it runs; if the
      process dies first, its leases run out within `delivery_lease_s` and another replica
      sends it again with the same `webhook-id`.
    - Connections to receivers are kept alive, at most `delivery_concurrency` per receiver host.
    """

    sealed_what: ClassVar[str] = "webhook signing secrets"
    service_name: str = "notifications"
    http_port: int = 8103
    webhook_retry_schedule_s: tuple[float, ...] = Field(default=retry.DEFAULT_SCHEDULE_S)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    delivery_lease_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="how long a claimed delivery is held at a time; renewed every third of it "
        "while it runs, so a dead process's deliveries go out again within about this long",
    )
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_per_endpoint: int = Field(default=4, ge=1, le=64)
    consumer_lanes: int = Field(
        default=4,
        ge=1,
        le=64,
        description="pullers sharing the durable referral-events consumer in this process, as "
        "replicas do: events are fanned out this many at once, each lane holding up to "
        "consumer_batch pulled; at most db_pool_max - 4 (see NotificationsSettings)",
    )
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_first_rest_s: float = Field(
        default=5.0, gt=0, description="first rest of a failing endpoint; doubles per failed probe"
    )
    breaker_cooldown_s: float = Field(default=60.0, gt=0, description="the longest rest")
    webhook_allowed_networks: tuple[str, ...] = Field(
        default=(),
        description='CIDRs webhooks may reach despite being private, e.g. ["10.0.0.0/8"]',
    )
    referral_link_base: str = Field(
        default="http://127.0.0.1:8102/app/",
        description="the tablet app's URL: emails link to <base>#/inbox/<id> (agencies) "
        "or <base>#/mine/<id> (officers)",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Bridges <no-reply@bridges.example.org>"
    referrals_url: str = Field(
        default="http://127.0.0.1:8102",
        description="the referrals API, where a family's message is fetched when it is sent "
        "(with BRIDGES_SERVICE_KEY)",
    )
    sms_sink_dir: Path | None = Field(
        default=None, description="write text messages as files here (development: make up)"
    )
    sms_provider_url: str | None = Field(
        default=None, description="an SMS provider's HTTP API (see bridges_notifications.sms)"
    )
    sms_provider_key: SecretStr | None = Field(default=None, description="its bearer key")
    sms_sender: str = Field(
        default="Bridges", min_length=1, max_length=20, description="the texts' sender id"
    )
    listing_link_key: SecretStr | None = Field(
        default=None,
        description="signs the one-tap link of the directory's listing reviews (the same secret "
        "as the directory's, 32+ characters); unset: the email asks staff to sign in instead",
    )
    listing_link_key_file: Path | None = Field(
        default=None, description="the same key read from a file (a compose secret)"
    )
    secret_files: ClassVar[Mapping[str, str]] = {
        **ServiceSettings.secret_files,
        "listing_link_key_file": "listing_link_key",
    }

    @field_validator("listing_link_key", mode="before")
    @classmethod
    def _link_key(cls, value: object) -> object:
        return checked_key(value, "BRIDGES_LISTING_LINK_KEY")

    def listing_links(self) -> LinkSigner | None:
        key = self.listing_link_key
        return LinkSigner(key.get_secret_value(), listing_reviews.PURPOSE) if key else None

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        netguard.parse_networks(value)  # raises on a malformed CIDR
        return value

    @field_validator("referrals_url", "sms_provider_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http(s) URL")
        return value

    def sms_sender_of(self) -> sms.SmsSender:
        """The provider if configured, else the file sink, else none (texts wait, then park)."""
        if self.sms_provider_url:
            key = self.sms_provider_key.get_secret_value() if self.sms_provider_key else ""
            return sms.HttpSmsProvider(
                self.sms_provider_url, key, self.sms_sender, self.webhook_timeout_s
            )
        if self.sms_sink_dir is not None:
            return sms.FileSink(self.sms_sink_dir)
        return sms.NoSmsSender()

    def family_messages(self) -> FamilyMessages:
        key = self.service_key.get_secret_value() if self.service_key else None
        return FamilyMessages(self.referrals_url, key, self.webhook_timeout_s)

    def allowed_networks(self) -> tuple[netguard.Network, ...]:
        return netguard.parse_networks(self.webhook_allowed_networks)

    def lanes(self) -> int:
        """Consumer lanes, as many as the pool can give without starving the delivery worker."""
        return max(1, min(self.consumer_lanes, self.db_pool_max - CONNECTIONS_BESIDES_LANES))

    def scheduling(self) -> SchedulingPolicy:
        return SchedulingPolicy(
            attempt=attempts.AttemptPolicy(
                schedule_s=self.webhook_retry_schedule_s,
                breaker=domain.BreakerPolicy(
                    failures=self.breaker_failures,
                    first_rest_s=min(self.breaker_first_rest_s, self.breaker_cooldown_s),
                    longest_rest_s=self.breaker_cooldown_s,
                ),
            ),
            lease_s=self.delivery_lease_s,
            concurrency=self.delivery_concurrency,
            per_endpoint=self.delivery_per_endpoint,
            poll_s=self.outbox_poll_s,
            drain_s=self.webhook_timeout_s + 5,
        )

    def mail(self) -> MailSettings:
        return MailSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            starttls=self.smtp_starttls,
            use_tls=self.smtp_tls,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            sender=self.mail_from,
        )


AnyNotificationsRuntime = Runtime[NotificationsSettings, NotificationsUnitOfWork]


class NotificationsRuntime(KeyRingRuntime[NotificationsSettings, NotificationsUnitOfWork]):
    """The kit's runtime with the key ring that seals webhook signing secrets. The ring is read
    when the database opens, which then seals secrets stored plain and re-wraps endpoints' data
    keys under the active key (`signing_secrets`)."""

    def __init__(self, settings: NotificationsSettings) -> None:
        super().__init__(
            settings,
            bus_user=BUS_USER,
            migrations=MIGRATIONS,
            unit_of_work=self._unit_of_work_with_keys,
            subscriptions=SUBSCRIPTIONS,
            workers=[_delivery_worker, *[_consumer_lane] * (settings.lanes() - 1)],
            samplers=[
                delivery_log.sample_waiting,
                delivery_log.sample_last_hour,
                delivery_log.sample_endpoints,
            ],
        )

    def _unit_of_work_with_keys(self, pool: asyncpg.Pool, streams: Streams) -> SqlUnitOfWork:
        return SqlUnitOfWork(pool, streams, self.key_ring)

    async def with_keys(self, pool: asyncpg.Pool, ring: KeyRing) -> None:
        sealed = await signing_secrets.seal_stored(pool, ring)
        if sealed:
            log.info("signing_secrets_sealed", endpoints=sealed)


def _delivery_worker(runtime: AnyNotificationsRuntime) -> Worker:
    s = runtime.settings
    transports: dict[domain.Channel, Transport] = {
        domain.Channel.WEBHOOK: WebhookTransport(
            s.webhook_timeout_s, s.allowed_networks(), max_connections=s.delivery_concurrency
        ),
        domain.Channel.EMAIL: EmailTransport(
            s.mail(), s.referral_link_base, s.family_messages(), s.listing_links()
        ),
        domain.Channel.SMS: sms.SmsTransport(s.family_messages(), s.sms_sender_of()),
    }
    return DeliveryWorker(
        runtime.uow, transports, runtime.wakeup(WAKE_CHANNEL), s.scheduling(), runtime.metrics
    )


def _consumer_lane(runtime: AnyNotificationsRuntime) -> Worker:
    """One more puller on the referral events' durable consumer (the runtime starts the first).
    Lanes share the consumer as replicas do, so nothing changes for delivery guarantees: each
    event is applied once, in its own transaction, whichever lane pulls it."""
    s = runtime.settings
    policy = ConsumerPolicy(
        max_attempts=s.consumer_max_attempts,
        max_deliver=s.consumer_max_deliver,
        batch=s.consumer_batch,
        ack_wait_s=s.consumer_ack_wait_s,
    )
    return Consumer(
        runtime.pool, runtime.js, runtime.streams, runtime.dispatchers[0], runtime.metrics, policy
    )


def build_runtime(settings: NotificationsSettings | None = None) -> NotificationsRuntime:
    return NotificationsRuntime(settings or NotificationsSettings())


def build_app(runtime: AnyNotificationsRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    app = create_app(
        runtime,
        title="Bridges notifications",
        description="Signed webhooks and email to agencies and officers, families' follow-up "
        "messages (email, text): retries, dead letters, replay.",
        routers=[api.routes],
        error_map=ERRORS,
        access_table=access.TABLE,
    )
    app.state.allowed_networks = runtime.settings.allowed_networks()
    return app
