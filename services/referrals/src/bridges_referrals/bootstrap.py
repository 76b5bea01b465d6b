"""Composition root of the referrals service: settings, reactions to events, runtime, HTTP app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from bridges_kit import problems
from bridges_kit.consumer import Subscription
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime, Worker
from bridges_kit.settings import ServiceSettings
from bridges_referrals import api, casework, lifecycle, privacy, programs, stats, upkeep
from bridges_referrals.sla import ResponseTargets
from bridges_schema import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_SUCCEEDED,
    SERVICE_CAPACITY_CHANGED,
    SERVICE_DELETED,
    SERVICE_UPSERTED,
)
from bridges_schema.subjects import Domain

MIGRATIONS = Path(__file__).parent / "migrations"

# What reacts to which event.
SUBSCRIPTIONS = [
    Subscription(
        durable="referrals-programs",
        domain=Domain.DIRECTORY,
        handlers={
            SERVICE_UPSERTED: programs.on_service_upserted,
            SERVICE_CAPACITY_CHANGED: programs.on_service_capacity_changed,
            SERVICE_DELETED: programs.on_service_deleted,
        },
    ),
    Subscription(
        durable="referrals-delivery",
        domain=Domain.DELIVERY,
        handlers={
            DELIVERY_DEAD_LETTERED: upkeep.on_delivery_dead_lettered,
            DELIVERY_SUCCEEDED: upkeep.on_delivery_succeeded,
        },
    ),
]

ERRORS: problems.ErrorMap = {
    casework.ConsentMissing: problems.Unprocessable,
    casework.UnknownProgram: problems.Unprocessable,
    casework.ProgramNotAccepting: problems.Unprocessable,
    casework.IdempotencyKeyReused: problems.Unprocessable,
    casework.ReferralNotFound: problems.NotFound,
    casework.StaleVersion: problems.PreconditionFailed,
    casework.BadCursor: problems.BadRequest,
    privacy.CaseNotFound: problems.NotFound,
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

    def response_targets(self) -> ResponseTargets:
        return ResponseTargets(
            emergency=timedelta(seconds=self.sla_emergency_s),
            high=timedelta(seconds=self.sla_high_s),
            routine=timedelta(seconds=self.sla_routine_s),
        )


def _sla_sweeper(runtime: Runtime) -> Worker:
    settings = runtime.settings
    assert isinstance(settings, ReferralsSettings)
    return upkeep.SlaSweeper(runtime.pool, runtime.streams, settings.sla_sweep_interval_s)


def _retention(runtime: Runtime) -> Worker:
    settings = runtime.settings
    assert isinstance(settings, ReferralsSettings)
    return upkeep.RetentionWorker(
        runtime.pool, timedelta(days=settings.retention_days), settings.retention_sweep_interval_s
    )


def build_runtime(settings: ReferralsSettings | None = None) -> Runtime:
    return Runtime(
        settings or ReferralsSettings(),
        migrations=MIGRATIONS,
        subscriptions=SUBSCRIPTIONS,
        workers=[_sla_sweeper, _retention],
    )


def build_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    app = create_app(
        runtime,
        title="Bridges referrals",
        description="Officer intake with consent, the referral lifecycle and agency inboxes.",
        routers=[api.router],
        error_map=ERRORS,
    )
    settings = runtime.settings
    assert isinstance(settings, ReferralsSettings)
    app.state.response_targets = settings.response_targets()
    app.state.stats = stats.Cached(lambda: runtime.pool, settings.stats_cache_s)
    return app
