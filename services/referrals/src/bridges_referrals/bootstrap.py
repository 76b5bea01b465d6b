"""Composition root of the referrals service: settings, reactions to events, runtime, HTTP app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import available_timezones

import asyncpg
import structlog
from fastapi import FastAPI
from pydantic import Field, field_validator, model_validator

from bridges_kit import problems
from bridges_kit.bus_access import BusUser
from bridges_kit.consumer import Subscription, on
from bridges_kit.http import create_app
from bridges_kit.rate_limits import Rate, RateLimiter
from bridges_kit.runtime import KeyRingRuntime, Runtime
from bridges_kit.sealing import KeyRing
from bridges_kit.settings import Environment, KeyRingSettings, require_https
from bridges_kit.workers import Worker
from bridges_referrals import (
    access,
    api,
    app_shell,
    data_keys,
    domain,
    family,
    family_api,
    family_page,
    follow_up,
    lifecycle,
    listings,
    name_index,
    programs,
    queries,
    stats,
    upkeep,
)
from bridges_referrals.fhir import notifier
from bridges_referrals.fhir import outcomes as fhir_outcomes
from bridges_referrals.fhir import routes as fhir_routes
from bridges_referrals.fhir.codes import SDOH_CATEGORIES
from bridges_referrals.program_memory import ProgramMemory
from bridges_referrals.repository import SqlUnitOfWork, know_need_codes
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import (
    DeliveryDeadLettered,
    DeliverySucceeded,
    FamilyMessageDelivered,
    FamilyMessageUndeliverable,
    ServiceCapacityChanged,
    ServiceDeleted,
    ServiceUpserted,
    Streams,
)
from bridges_schema.subjects import Domain

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

# What reacts to which event.
SUBSCRIPTIONS: list[Subscription[ReferralsUnitOfWork]] = [
    Subscription(
        "referrals-programs",
        Domain.DIRECTORY,
        (
            on(ServiceUpserted, programs.on_service_upserted),
            on(ServiceCapacityChanged, programs.on_service_capacity_changed),
            on(ServiceDeleted, programs.on_service_deleted),
        ),
        refused=(domain.ImplausibleVersion,),  # a forged version would freeze the program
    ),
    Subscription(
        "referrals-delivery",
        Domain.DELIVERY,
        (
            on(DeliveryDeadLettered, upkeep.on_delivery_dead_lettered),
            on(DeliverySucceeded, upkeep.on_delivery_succeeded),
            on(FamilyMessageDelivered, family.on_family_message_delivered),
            on(FamilyMessageUndeliverable, family.on_family_message_undeliverable),
        ),
        # a delivery of a referral never filed, or a message of a follow-up never made
        permanent=(domain.ReferralNotFound, follow_up.FollowUpGone),
    ),
]

# its NATS user: publishes referral events, reads the directory's and the deliveries' above
BUS_USER = BusUser.of(Domain.REFERRAL, SUBSCRIPTIONS)

ERRORS: problems.ErrorMap = {
    domain.ConsentMissing: problems.Unprocessable,
    domain.UnknownProgram: problems.Unprocessable,
    domain.UnknownNeed: problems.Unprocessable,
    domain.ProgramNotAccepting: problems.Unprocessable,
    domain.OfficerUnreachable: problems.Unprocessable,
    domain.IdempotencyKeyReused: problems.Unprocessable,
    domain.ReferralNotFound: problems.NotFound,
    domain.CaseNotFound: problems.NotFound,
    domain.StaleVersion: problems.PreconditionFailed,
    domain.ReferenceTaken: problems.ServiceUnavailable,  # drawn again a few times first
    listings.BadCursor: problems.BadRequest,
    lifecycle.IllegalTransition: problems.Conflict,
    lifecycle.TransitionNotPermitted: problems.Forbidden,
    lifecycle.ReasonRequired: problems.Unprocessable,
    follow_up.FollowUpUnreachable: problems.Unprocessable,
    follow_up.FollowUpNotReconfirmed: problems.Unprocessable,
    follow_up.FeedbackAlreadyGiven: problems.Conflict,
    follow_up.FeedbackNotAccepted: problems.Conflict,
    follow_up.FollowUpGone: family_api.Gone,
}


class ReferralsSettings(KeyRingSettings):
    sealed_what: ClassVar[str] = "families' data"
    service_name: str = "referrals"
    http_port: int = 8102
    sla_emergency_s: int = Field(default=3600, ge=60)
    sla_high_s: int = Field(default=86_400, ge=60)
    sla_routine_s: int = Field(default=259_200, ge=60)
    sla_sweep_interval_s: float = Field(default=30.0, gt=0, le=3600)
    retention_days: int = Field(default=365, ge=1, description="PII kept after a case closes")
    retention_sweep_interval_s: float = Field(default=3600.0, gt=0)
    stats_cache_s: float = Field(default=60.0, ge=0, description="how fresh GET /stats is")
    fhir_notify_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="how often FHIR Subscriptions are told of changes"
    )
    followup_delay_s: int = Field(
        default=604_800, ge=0, description="how long after filing a family is asked (7 days)"
    )
    followup_delay_by_need_s: dict[str, int] = Field(
        default={},
        description='per need or category, e.g. {"food": 172800, "housing": 1209600}; a case '
        "with several needs waits for the longest",
    )
    followup_hours: str = Field(
        default="09:00-19:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="when a message may go if the family named no safe hours (its time zone)",
    )
    followup_time_zone: str = Field(
        default="UTC", description="the families' time zone when the intake names none"
    )
    followup_link_base: str = Field(
        default="",
        description="where a family's link leads, <base>/<token>; '' this API's /family",
    )
    followup_link_days: int = Field(default=30, ge=1, le=365, description="how long it works")
    followup_exit_url: str = Field(
        default="https://www.google.com/",
        description="where the family page's quick exit goes (replacing the page)",
    )
    followup_rate_per_token: Rate = Field(
        default=Rate(per_minute=10, burst=10), description="family page requests per link"
    )
    followup_rate_per_address: Rate = Field(
        default=Rate(per_minute=30, burst=30), description="family page requests per address"
    )
    followup_sweep_interval_s: float = Field(default=15.0, gt=0, le=3600)
    intake_one_statement: bool = Field(
        default=True,
        description="new intakes for programs read lately in one statement; false: every "
        "intake reads first (the two are proven equal; bench.intake compares their speed)",
    )
    app_dir: Path | None = Field(
        default=None, description="the tablet app's build (Vite's output, app/dist), at /app/"
    )
    app_directory_url: str = Field(
        default="", description="the directory API's base URL as browsers see it; '' same origin"
    )
    app_referrals_url: str = Field(
        default="",
        description="this API's base URL as browsers see it ('' where it serves the app itself; "
        "'/api/referrals' behind the compose reverse proxy)",
    )
    app_notifications_url: str = Field(
        default="",
        description="the notifications API's base URL as browsers see it (admins' and ops' "
        "screens); '' same origin",
    )
    app_prometheus_url: str = Field(
        default="",
        description="where ops' screen links each figure's metric to (Prometheus's base URL, "
        "e.g. http://127.0.0.1:9090); '' names the metric without a link",
    )
    app_oidc_authority: str = Field(
        default="",
        description="the OpenID provider the app signs in with (its issuer URL); '' no sign-in",
    )
    app_oidc_client_id: str = Field(default="bridges-app", min_length=1, max_length=200)
    app_oidc_scope: str = Field(default="openid profile email offline_access", min_length=6)

    @field_validator("app_directory_url", "app_referrals_url", "app_notifications_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """An http(s) URL, a path on the app's own origin ('/api/directory'), or empty."""
        same_origin_path = value.startswith("/") and not value.startswith("//")
        if value and not (same_origin_path or value.startswith(("http://", "https://"))):
            raise ValueError("an API base URL is an http(s) URL, a path starting with /, or empty")
        return value.rstrip("/")

    @field_validator("followup_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError("an IANA time zone name, e.g. America/Los_Angeles")
        return value

    @field_validator("followup_exit_url", "followup_link_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http(s) URL")
        return value

    @field_validator("app_oidc_authority", "app_prometheus_url")
    @classmethod
    def _authority(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http(s) URL (the OpenID provider's issuer, Prometheus)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _authority_over_tls(self) -> ReferralsSettings:
        production = self.environment is Environment.PRODUCTION
        if production and self.app_oidc_authority and not self.allow_http_identity_provider:
            require_https("BRIDGES_APP_OIDC_AUTHORITY", self.app_oidc_authority)
        return self

    def app_config(self) -> dict[str, Any]:
        """What the tablet app reads at start (GET /app/config.json)."""
        return {
            "directory_url": self.app_directory_url,
            "referrals_url": self.app_referrals_url,
            "notifications_url": self.app_notifications_url,
            "prometheus_url": self.app_prometheus_url,
            "sign_in": "oidc" if self.app_oidc_authority else "none",
            "oidc": {
                "authority": self.app_oidc_authority,
                "client_id": self.app_oidc_client_id,
                "scope": self.app_oidc_scope,
            },
            "environment": self.environment.value,
        }

    def response_targets(self) -> ResponseTargets:
        return ResponseTargets(
            emergency=timedelta(seconds=self.sla_emergency_s),
            high=timedelta(seconds=self.sla_high_s),
            routine=timedelta(seconds=self.sla_routine_s),
        )

    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    def follow_ups(self) -> follow_up.FollowUpPolicy:
        return follow_up.FollowUpPolicy(
            delay=timedelta(seconds=self.followup_delay_s),
            delay_by_need={
                need: timedelta(seconds=s) for need, s in self.followup_delay_by_need_s.items()
            },
            hours=follow_up.SafeHours.parse(self.followup_hours),
            time_zone=self.followup_time_zone,
            link_lifetime=timedelta(days=self.followup_link_days),
        )

    def follow_up_links(self) -> family.FollowUpLinks:
        base = self.followup_link_base or f"{self.base_url}{family_page.PREFIX}"
        return family.FollowUpLinks(base, timedelta(days=self.followup_link_days))

    def family_page(self) -> family_page.FamilyPage:
        limited = self.rate_limits
        keys = self.rate_limit_max_keys
        return family_page.FamilyPage(
            exit_url=self.followup_exit_url,
            per_token=RateLimiter(
                "family page per link", self.followup_rate_per_token, max_keys=keys
            )
            if limited
            else None,
            per_address=RateLimiter(
                "family page per address", self.followup_rate_per_address, max_keys=keys
            )
            if limited
            else None,
        )


# What commands, workers and the app take (the kit hands them the runtime as its own type).
AnyReferralsRuntime = Runtime[ReferralsSettings, ReferralsUnitOfWork]


class ReferralsRuntime(KeyRingRuntime[ReferralsSettings, ReferralsUnitOfWork]):
    """The kit's runtime with the key ring that seals families' data. The ring is read when the
    database opens, which refuses to go on if a key some case needs is missing from it."""

    def __init__(self, settings: ReferralsSettings) -> None:
        super().__init__(
            settings,
            bus_user=BUS_USER,
            migrations=MIGRATIONS,
            unit_of_work=self._unit_of_work_with_keys,
            subscriptions=SUBSCRIPTIONS,
            workers=[_sla_sweeper, _retention, _fhir_notifier, _follow_up_sender],
            samplers=[queries.sample_statuses],
        )
        self._programs_seen = ProgramMemory()  # one per process: see `intake`

    def _unit_of_work_with_keys(self, pool: asyncpg.Pool, streams: Streams) -> SqlUnitOfWork:
        return SqlUnitOfWork(pool, streams, self.key_ring, self._programs_seen)

    async def with_keys(self, pool: asyncpg.Pool, ring: KeyRing) -> None:
        """Refuse a ring without a key some case needs; seal and index what was stored
        before sealing and the name index existed; know the IG's SDOH categories as needs."""
        async with pool.acquire() as conn:
            await data_keys.check_ring(conn, ring)
            await know_need_codes(conn, SDOH_CATEGORIES)
        sealed = await data_keys.seal_unsealed(pool, ring)
        indexed = await name_index.index_unindexed(pool, ring)
        if sealed:
            log.info("unsealed_cases_sealed", cases=sealed)
        if indexed:
            log.info("family_names_indexed", cases=indexed)


def _sla_sweeper(runtime: AnyReferralsRuntime) -> Worker:
    return upkeep.SlaSweeper(runtime.uow, runtime.settings.sla_sweep_interval_s)


def _retention(runtime: AnyReferralsRuntime) -> Worker:
    s = runtime.settings
    return upkeep.RetentionWorker(runtime.uow, s.retention(), s.retention_sweep_interval_s)


def _fhir_notifier(runtime: AnyReferralsRuntime) -> Worker:
    s = runtime.settings
    return notifier.Notifier(lambda: runtime.pool, f"{s.base_url}/fhir", s.fhir_notify_interval_s)


def _follow_up_sender(runtime: AnyReferralsRuntime) -> Worker:
    s = runtime.settings
    lifetime = timedelta(days=s.followup_link_days)
    return upkeep.FollowUpSender(runtime.uow, lifetime, s.followup_sweep_interval_s)


def build_runtime(settings: ReferralsSettings | None = None) -> ReferralsRuntime:
    return ReferralsRuntime(settings or ReferralsSettings())


def build_app(runtime: AnyReferralsRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    settings = runtime.settings
    shell = app_shell.AppShell(settings.app_dir, settings.app_config())
    app = create_app(
        runtime,
        title="Bridges referrals",
        description="Officer intake with consent, the referral lifecycle and agency inboxes.",
        routers=[
            api.routes,
            family_api.routes,
            family_page.routes(settings.family_page()),
            fhir_routes.routes,
            app_shell.routes(shell),
        ],
        error_map={**ERRORS, **fhir_routes.ERRORS},
        access_table=access.TABLE,
    )
    app.add_middleware(fhir_outcomes.OperationOutcomes)  # /fhir answers errors as FHIR does
    fhir_outcomes.document(app)
    app.state.response_targets = runtime.settings.response_targets()
    app.state.follow_ups = runtime.settings.follow_ups()
    app.state.intake_one_statement = runtime.settings.intake_one_statement
    app.state.follow_up_links = runtime.settings.follow_up_links()
    app.state.stats = stats.Cached(lambda: runtime.pool, runtime.settings.stats_cache_s)
    return app
