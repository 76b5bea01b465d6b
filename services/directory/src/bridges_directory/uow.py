"""The directory unit of work: the repositories its use cases write through.

`DirectoryUnitOfWork` names them (protocols); `SqlUnitOfWork` binds the PostgreSQL ones to one
transaction; the unit tests' fake keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from bridges_directory import dataset, hsds
from bridges_directory.domain import ServiceRow, StoredService, Terms
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


class Organizations(Protocol):
    async def upsert(self, organizations: Sequence[hsds.Organization]) -> None: ...


class Services(Protocol):
    async def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, tuple[int, str]]:
        """id -> (version, content hash) of the programs that exist (locked)."""
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
        accepting: bool,
        capacity: str,
    ) -> tuple[int, datetime]: ...

    async def delete(self, service_id: UUID) -> tuple[int, UUID | None] | None: ...

    async def analyze(self) -> None:
        """Refresh the planner's statistics (after a large import)."""
        ...


class DirectoryUnitOfWork(UnitOfWork):
    taxonomy: Taxonomy
    organizations: Organizations
    services: Services
