"""Composition root of the directory service: settings, runtime and HTTP app are built here only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from bridges_directory import api, catalog, dataset
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
    catalog.NotYourService: problems.Forbidden,
    dataset.InvalidDataset: problems.Unprocessable,
}

# No event subscriptions: the directory is the source of its data, not a reader of others'.


class DirectorySettings(ServiceSettings):
    service_name: str = "directory"
    http_port: int = 8101
    import_max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="POST /import; larger datasets: the CLI"
    )


def build_runtime(settings: DirectorySettings | None = None) -> Runtime:
    return Runtime(settings or DirectorySettings(), migrations=MIGRATIONS)


def build_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    settings = runtime.settings
    assert isinstance(settings, DirectorySettings)
    return create_app(
        runtime,
        title="Bridges directory",
        description="Human-service programs as Open Referral HSDS 3.0, with search.",
        routers=[api.router],
        error_map=ERRORS,
        body_limits={"/import": settings.import_max_bytes},
    )
