"""Composition root of the referrals service: settings, reactions to events, runtime, HTTP app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import Field, field_validator

from bridges_kit import problems
from bridges_kit.consumer import Subscription, on
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_kit.workers import Worker
from bridges_referrals import (
    api,
    app_shell,
    domain,
    lifecycle,
    programs,
    queries,
    stats,
    upkeep,
)
from bridges_referrals.repository import SqlUnitOfWork
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import (
    DeliveryDeadLettered,
    DeliverySucceeded,
    ServiceCapacityChanged,
    ServiceDeleted,
    ServiceUpserted,
)
from bridges_schema.subjects import Domain

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
    ),
    Subscription(
        "referrals-delivery",
        Domain.DELIVERY,
        (
            on(DeliveryDeadLettered, upkeep.on_delivery_dead_lettered),
            on(DeliverySucceeded, upkeep.on_delivery_succeeded),
        ),
        permanent=(domain.ReferralNotFound,),  # a delivery of a referral never filed
    ),
]

ERRORS: problems.ErrorMap = {
    domain.ConsentMissing: problems.Unprocessable,
    domain.UnknownProgram: problems.Unprocessable,
    domain.ProgramNotAccepting: problems.Unprocessable,
    domain.OfficerUnreachable: problems.Unprocessable,
    domain.IdempotencyKeyReused: problems.Unprocessable,
    domain.ReferralNotFound: problems.NotFound,
    domain.CaseNotFound: problems.NotFound,
    domain.StaleVersion: problems.PreconditionFailed,
    queries.BadCursor: problems.BadRequest,
    lifecycle.IllegalTransition: problems.Conflict,
    lifecycle.TransitionNotPermitted: problems.Forbidden,
    lifecycle.ReasonRequired: problems.Unprocessable,
}


class ReferralsSettings(ServiceSettings):
    service_name: str = "referrals"
    http_port: int = 8102
    sla_emergency_s: int = Field(default=3600, ge=60)
    sla_high_s: int = Field(default=86_400, ge=60)
    sla_routine_s: int = Field(default=259_200, ge=60)
    sla_sweep_interval_s: float = Field(default=30.0, gt=0, le=3600)
    retention_days: int = Field(default=365, ge=1, description="PII kept after a case closes")
    retention_sweep_interval_s: float = Field(default=3600.0, gt=0)
    stats_cache_s: float = Field(default=60.0, ge=0, description="how fresh GET /stats is")
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
    app_oidc_authority: str = Field(
        default="",
        description="the OpenID provider the app signs in with (its issuer URL); '' no sign-in",
    )
    app_oidc_client_id: str = Field(default="bridges-app", min_length=1, max_length=200)
    app_oidc_scope: str = Field(default="openid profile email offline_access", min_length=6)

    @field_validator("app_directory_url", "app_referrals_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """An http(s) URL, a path on the app's own origin ('/api/directory'), or empty."""
        same_origin_path = value.startswith("/") and not value.startswith("//")
        if value and not (same_origin_path or value.startswith(("http://", "https://"))):
            raise ValueError("an API base URL is an http(s) URL, a path starting with /, or empty")
        return value.rstrip("/")

    @field_validator("app_oidc_authority")
    @classmethod
    def _authority(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the OpenID provider's issuer is an http(s) URL")
        return value.rstrip("/")

    def app_config(self) -> dict[str, Any]:
        """What the tablet app reads at start (GET /app/config.json)."""
        return {
            "directory_url": self.app_directory_url,
            "referrals_url": self.app_referrals_url,
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


ReferralsRuntime = Runtime[ReferralsSettings, ReferralsUnitOfWork]


def _sla_sweeper(runtime: ReferralsRuntime) -> Worker:
    return upkeep.SlaSweeper(runtime.uow, runtime.settings.sla_sweep_interval_s)


def _retention(runtime: ReferralsRuntime) -> Worker:
    s = runtime.settings
    return upkeep.RetentionWorker(runtime.uow, s.retention(), s.retention_sweep_interval_s)


def build_runtime(settings: ReferralsSettings | None = None) -> ReferralsRuntime:
    return Runtime(
        settings or ReferralsSettings(),
        migrations=MIGRATIONS,
        unit_of_work=SqlUnitOfWork,
        subscriptions=SUBSCRIPTIONS,
        workers=[_sla_sweeper, _retention],
    )


def build_app(runtime: ReferralsRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    settings = runtime.settings
    shell = app_shell.AppShell(settings.app_dir, settings.app_config())
    app = create_app(
        runtime,
        title="Bridges referrals",
        description="Officer intake with consent, the referral lifecycle and agency inboxes.",
        routers=[api.routes, app_shell.routes(shell)],
        error_map=ERRORS,
    )
    app.state.response_targets = runtime.settings.response_targets()
    app.state.stats = stats.Cached(lambda: runtime.pool, runtime.settings.stats_cache_s)
    return app
