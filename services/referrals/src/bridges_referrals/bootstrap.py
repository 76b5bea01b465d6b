"""Composition root of the referrals service: settings, reactions to events, runtime, HTTP app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import Field, field_validator, model_validator

from bridges_kit import problems
from bridges_kit.consumer import Subscription, on
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime
from bridges_kit.settings import Environment, ServiceSettings
from bridges_kit.workers import Worker
from bridges_referrals import (
    access,
    api,
    app_shell,
    dev_sign_in,
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
    dev_sign_in.UnknownDevUser: problems.NotFound,
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
    dev_sign_in_key_file: Path | None = Field(
        default=None, description="development sign-in: the ES256 private key PEM (dev key)"
    )
    dev_sign_in_users_file: Path | None = Field(
        default=None, description="development sign-in: a JSON list of the users to choose from"
    )

    @field_validator("app_directory_url", "app_referrals_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """An http(s) URL, a path on the app's own origin ('/api/directory'), or empty."""
        same_origin_path = value.startswith("/") and not value.startswith("//")
        if value and not (same_origin_path or value.startswith(("http://", "https://"))):
            raise ValueError("an API base URL is an http(s) URL, a path starting with /, or empty")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _dev_sign_in_in_development_only(self) -> ReferralsSettings:
        given = [self.dev_sign_in_key_file, self.dev_sign_in_users_file]
        if any(given) and self.environment is Environment.PRODUCTION:
            raise ValueError(
                "development sign-in (BRIDGES_DEV_SIGN_IN_KEY_FILE, BRIDGES_DEV_SIGN_IN_USERS_FILE)"
                " is refused in production: anyone could sign in as anyone"
            )
        if any(given) and not all(given):
            raise ValueError(
                "development sign-in needs both BRIDGES_DEV_SIGN_IN_KEY_FILE and "
                "BRIDGES_DEV_SIGN_IN_USERS_FILE"
            )
        return self

    @property
    def dev_sign_in(self) -> bool:
        return self.dev_sign_in_key_file is not None and self.dev_sign_in_users_file is not None

    def app_config(self) -> dict[str, Any]:
        """What the tablet app reads at start (GET /app/config.json)."""
        return {
            "directory_url": self.app_directory_url,
            "referrals_url": self.app_referrals_url,
            "sign_in": "dev" if self.dev_sign_in else "none",
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


def _dev_sign_in(settings: ReferralsSettings) -> list[APIRouter]:
    if settings.dev_sign_in_key_file is None or settings.dev_sign_in_users_file is None:
        return []
    dev = dev_sign_in.DevSignIn.load(
        settings.dev_sign_in_key_file,
        settings.dev_sign_in_users_file,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return [dev_sign_in.routes(dev)]


def build_app(runtime: ReferralsRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    settings = runtime.settings
    shell = app_shell.AppShell(settings.app_dir, settings.app_config())
    app = create_app(
        runtime,
        title="Bridges referrals",
        description="Officer intake with consent, the referral lifecycle and agency inboxes.",
        routers=[api.routes, app_shell.routes(shell), *_dev_sign_in(settings)],
        error_map=ERRORS,
        access_table={**access.TABLE, **(access.DEV_SIGN_IN if settings.dev_sign_in else {})},
    )
    app.state.response_targets = runtime.settings.response_targets()
    app.state.stats = stats.Cached(lambda: runtime.pool, runtime.settings.stats_cache_s)
    return app
