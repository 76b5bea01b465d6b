"""Composition root of the directory service: settings, runtime and HTTP app are built here only.

No event subscriptions: the directory is the source of its data, not a reader of others'."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from bridges_directory import access, api, dataset, domain, open_data
from bridges_directory.corrections import Corrections
from bridges_directory.lexicon import LEXICON
from bridges_directory.repository import SqlUnitOfWork
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit import problems
from bridges_kit.bus_access import BusUser
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_schema import Domain

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: problems.ErrorMap = {
    domain.ServiceNotFound: problems.NotFound,
    domain.OrganizationNotFound: problems.NotFound,
    domain.IdMismatch: problems.Unprocessable,
    domain.NotYourService: problems.NotFound,
    dataset.InvalidDataset: problems.Unprocessable,
}


class DirectorySettings(ServiceSettings):
    service_name: str = "directory"
    http_port: int = 8101
    import_max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="POST /import; larger datasets: the CLI"
    )


DirectoryRuntime = Runtime[DirectorySettings, DirectoryUnitOfWork]
# its NATS user: publishes the directory's events, reads none
BUS_USER = BusUser.of(Domain.DIRECTORY)


def build_runtime(settings: DirectorySettings | None = None) -> DirectoryRuntime:
    return Runtime(
        settings or DirectorySettings(),
        bus_user=BUS_USER,
        migrations=MIGRATIONS,
        unit_of_work=SqlUnitOfWork,
    )


def build_app(runtime: DirectoryRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    app = create_app(
        runtime,
        title="Bridges directory",
        description="Human-service programs as Open Referral HSDS 3.0, with search.",
        routers=[api.routes],
        error_map=ERRORS,
        access_table=access.TABLE,
        body_limits={"/import": runtime.settings.import_max_bytes},
    )
    app.add_middleware(open_data.OpenData, templates=access.open_data_reads())
    app.state.corrections = Corrections(LEXICON)  # typo decisions, kept by this process
    return app
