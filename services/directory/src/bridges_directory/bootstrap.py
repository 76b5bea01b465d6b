"""Composition root of the directory service: settings, runtime and HTTP app are built here only.

No event subscriptions: the directory is the source of its data, not a reader of others'. One
worker: `reviews.ListingUpkeep` (monthly "still correct?" requests, intakes reopening)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator

from bridges_directory import (
    access,
    admin_api,
    agency_api,
    api,
    dataset,
    domain,
    open_data,
    queries,
    reviews,
)
from bridges_directory.corrections import Corrections
from bridges_directory.freshness import ReviewPolicy
from bridges_directory.lexicon import LEXICON
from bridges_directory.repository import SqlUnitOfWork
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit import problems
from bridges_kit.bus_access import BusUser
from bridges_kit.http import create_app
from bridges_kit.runtime import Runtime
from bridges_kit.settings import ServiceSettings
from bridges_kit.signed_links import MIN_KEY_LENGTH, LinkSigner, checked_key
from bridges_kit.workers import Worker
from bridges_schema import Domain

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: problems.ErrorMap = {
    domain.ServiceNotFound: problems.NotFound,
    domain.OrganizationNotFound: problems.NotFound,
    domain.LocationNotFound: problems.NotFound,
    domain.TermNotFound: problems.NotFound,
    domain.StaleVersion: problems.PreconditionFailed,
    domain.StillInUse: problems.Conflict,
    domain.IdMismatch: problems.Unprocessable,
    domain.NotYourService: problems.NotFound,
    domain.AgencyNotFound: problems.NotFound,
    domain.StaleService: problems.PreconditionFailed,
    domain.Unprocessable: problems.Unprocessable,
    domain.ReviewLinkInvalid: problems.NotFound,
    domain.ReviewLinkSpent: problems.Gone,
    dataset.InvalidDataset: problems.Unprocessable,
}


class DirectorySettings(ServiceSettings):
    service_name: str = "directory"
    http_port: int = 8101
    import_max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="POST /import; larger datasets: the CLI"
    )
    listing_link_key: SecretStr | None = Field(
        default=None,
        description="the key the notifications service signs listing-review links with (the "
        f"same secret there, {MIN_KEY_LENGTH}+ characters); unset: emailed links confirm nothing",
    )
    listing_link_key_file: Path | None = Field(
        default=None, description="the same key read from a file (a compose secret)"
    )
    secret_files: ClassVar[Mapping[str, str]] = {
        **ServiceSettings.secret_files,
        "listing_link_key_file": "listing_link_key",
    }
    search_concurrency: int = Field(
        default=4,
        ge=1,
        le=200,
        description="searches run at the database at once, the rest wait their turn "
        "(`bridges_searches_waiting`): about twice PostgreSQL's cores",
    )
    listing_reviews: bool = Field(
        default=True, description="ask agencies monthly to confirm their listing"
    )
    listing_review_every_days: float = Field(default=30, gt=0, le=366)
    listing_review_link_days: float = Field(default=45, gt=0, le=366)
    listing_upkeep_interval_s: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description="how often agencies due a review are asked and intakes due to reopen reopen",
    )

    @field_validator("listing_link_key", mode="before")
    @classmethod
    def _link_key(cls, value: object) -> object:
        return checked_key(value, "BRIDGES_LISTING_LINK_KEY")

    def review_policy(self) -> ReviewPolicy:
        return ReviewPolicy(
            every=timedelta(days=self.listing_review_every_days),
            link_valid=timedelta(days=self.listing_review_link_days),
        )

    def review_links(self) -> LinkSigner | None:
        key = self.listing_link_key
        return LinkSigner(key.get_secret_value(), reviews.PURPOSE) if key else None


DirectoryRuntime = Runtime[DirectorySettings, DirectoryUnitOfWork]
# its NATS user: publishes the directory's events, reads none
BUS_USER = BusUser.of(Domain.DIRECTORY)


def _listing_upkeep(runtime: DirectoryRuntime) -> Worker:
    s = runtime.settings
    return reviews.ListingUpkeep(
        runtime.uow, s.review_policy(), s.listing_upkeep_interval_s, reviews=s.listing_reviews
    )


def build_runtime(settings: DirectorySettings | None = None) -> DirectoryRuntime:
    return Runtime(
        settings or DirectorySettings(),
        bus_user=BUS_USER,
        migrations=MIGRATIONS,
        unit_of_work=SqlUnitOfWork,
        workers=[_listing_upkeep],
    )


def build_app(runtime: DirectoryRuntime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    app = create_app(
        runtime,
        title="Bridges directory",
        description="Human-service programs as Open Referral HSDS 3.0, with search.",
        routers=[api.routes, admin_api.routes, agency_api.routes],
        error_map=ERRORS,
        access_table=access.TABLE,
        body_limits={"/import": runtime.settings.import_max_bytes},
    )
    app.add_middleware(open_data.OpenData, templates=access.open_data_reads())
    app.state.searches = queries.Searches(
        corrections=Corrections(LEXICON),
        turns=queries.SearchTurns(
            runtime.settings.search_concurrency, runtime.metrics.searches_waiting
        ),
        shares=queries.WordShares(),
    )
    app.state.review_policy = runtime.settings.review_policy()
    app.state.review_links = runtime.settings.review_links()
    return app
