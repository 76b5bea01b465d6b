"""The directory unit of work: the repositories its use cases write through.

`DirectoryUnitOfWork` names them (protocols); `SqlUnitOfWork` binds the PostgreSQL ones to one
transaction; the unit tests' fake keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from bridges_directory import dataset, hsds
from bridges_directory.domain import (
    Change,
    Current,
    ListingReview,
    ServiceRow,
    StoredService,
    Terms,
)
from bridges_kit.uow import UnitOfWork


class Taxonomy(Protocol):
    async def upsert_taxonomies(self, taxonomies: Sequence[hsds.Taxonomy]) -> None: ...

    async def upsert_terms(self, terms: Sequence[hsds.TaxonomyTerm]) -> None: ...

    async def terms(self) -> Terms:
        """The whole taxonomy as writes need it (it is small)."""
        ...

    async def known_references(self) -> dataset.Known:
        """The terms and taxonomies held, as reference checks need them."""
        ...

    async def term(self, term_id: UUID) -> dict[str, Any] | None:
        """A term's HSDS document (locked until the unit of work ends)."""
        ...

    async def subtree(self, term_id: UUID) -> list[UUID]:
        """The term and every narrower term under it."""
        ...

    async def term_usage(self, term_id: UUID) -> tuple[int, int]:
        """How many programs the term classifies, and how many narrower terms it has."""
        ...

    async def delete_term(self, term_id: UUID) -> bool: ...


class Organizations(Protocol):
    async def upsert(self, organizations: Sequence[hsds.Organization]) -> None: ...

    async def get(self, organization_id: UUID) -> dict[str, Any] | None:
        """An organization's HSDS document (locked until the unit of work ends)."""
        ...


class Locations(Protocol):
    async def upsert(self, locations: Sequence[hsds.Location]) -> None: ...

    async def get(self, location_id: UUID) -> dict[str, Any] | None:
        """A location's HSDS document (locked until the unit of work ends)."""
        ...

    async def usage(self, location_id: UUID) -> int:
        """How many programs are delivered at the location."""
        ...

    async def delete(self, location_id: UUID) -> bool: ...


class Services(Protocol):
    async def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, Current]:
        """The programs among `ids` that exist (locked)."""
        ...

    async def embedding(
        self,
        *,
        organization_id: UUID | None = None,
        location_id: UUID | None = None,
        term_ids: Sequence[UUID] = (),
    ) -> list[StoredService]:
        """The programs of an organization, delivered at a location, or classified under one
        of the terms (locked: they are about to be rewritten)."""
        ...

    async def write(self, rows: Sequence[ServiceRow]) -> dict[UUID, tuple[int, datetime]]:
        """Insert or replace programs; id -> (version, modified)."""
        ...

    async def get(self, service_id: UUID, *, for_update: bool = False) -> StoredService | None: ...

    async def update_capacity(
        self,
        service_id: UUID,
        document: Mapping[str, Any],
        content_hash: str,
        extension: hsds.BridgesExtension,
    ) -> tuple[int, datetime]:
        """Change a program's intake only (its document and the intake columns)."""
        ...

    async def of_agency(self, agency_id: UUID, *, for_update: bool = False) -> list[StoredService]:
        """The programs whose referrals go to the agency, by name."""
        ...

    async def capacity_until_due(self, day: date, limit: int) -> list[StoredService]:
        """Programs whose intake is to reopen on or before `day` (locked, skipping locked)."""
        ...

    async def delete(self, service_id: UUID) -> tuple[int, UUID | None] | None: ...

    async def analyze(self) -> None:
        """Refresh the planner's statistics (after a large import)."""
        ...


class Audit(Protocol):
    async def record(self, change: Change) -> None:
        """Append one entry to the directory's audit log (never changed or removed)."""
        ...


class Reviews(Protocol):
    async def lock(self) -> None:
        """Hold the reviews for this transaction (one replica asks agencies at a time)."""
        ...

    async def agencies_due(
        self, asked_before: datetime, checked_before: date, limit: int
    ) -> list[tuple[UUID, list[date | None]]]:
        """Agencies not asked since `asked_before` with a program not checked since
        `checked_before`: each with every program's last check."""
        ...

    async def add(self, review: ListingReview) -> None: ...

    async def get(self, review_id: UUID, *, for_update: bool = False) -> ListingReview | None: ...

    async def confirmed(self, review_id: UUID, at: datetime) -> None: ...


class DirectoryUnitOfWork(UnitOfWork):
    taxonomy: Taxonomy
    organizations: Organizations
    locations: Locations
    services: Services
    audit: Audit
    reviews: Reviews
