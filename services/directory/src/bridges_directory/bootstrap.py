"""Composition root of the directory service: settings, runtime and HTTP app are built here only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bridges_directory import api, catalog
from bridges_kit import problems
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: problems.ErrorMap = {
    catalog.ServiceNotFound: problems.NotFound,
    catalog.OrganizationNotFound: problems.NotFound,
    catalog.UnknownTaxonomyTerm: problems.Unprocessable,
    catalog.IdMismatch: problems.Unprocessable,
}

# No event subscriptions: the directory is the source of its data, not a reader of others'.


class DirectorySettings(ServiceSettings):
    service_name: str = "directory"
    http_port: int = 8101


def build_runtime(settings: DirectorySettings | None = None) -> Runtime:
    return Runtime(settings or DirectorySettings(), migrations=MIGRATIONS)


def build_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    return create_app(
        runtime,
        title="Bridges directory",
        description="Human-service programs as Open Referral HSDS 3.0, with search.",
        routers=[api.router],
        error_map=ERRORS,
    )
