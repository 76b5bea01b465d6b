"""An in-memory directory unit of work, for unit tests of the directory's use cases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
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
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.fakes import InMemoryUnitOfWork


class FakeTaxonomy:
    def __init__(self) -> None:
        self.taxonomies: dict[UUID, hsds.Taxonomy] = {}
        self.terms_by_id: dict[UUID, hsds.TaxonomyTerm] = {}

    async def upsert_taxonomies(self, taxonomies: Sequence[hsds.Taxonomy]) -> None:
        self.taxonomies.update((t.id, t) for t in taxonomies)

    async def upsert_terms(self, terms: Sequence[hsds.TaxonomyTerm]) -> None:
        self.terms_by_id.update((t.id, t) for t in terms)

    async def terms(self) -> Terms:
        return Terms.build(
            (t.id, list(_names(t).values()), t.parent_id, t.code or t.name)
            for t in self.terms_by_id.values()
        )

    async def known_references(self) -> dataset.Known:
        return dataset.Known(
            {
                t.id: dataset.KnownTerm(t.parent_id, t.taxonomy_id, t.code)
                for t in self.terms_by_id.values()
            },
            frozenset(self.taxonomies),
        )

    async def term(self, term_id: UUID) -> dict[str, Any] | None:
        term = self.terms_by_id.get(term_id)
        return None if term is None else term.model_dump(mode="json", exclude_none=True)

    async def subtree(self, term_id: UUID) -> list[UUID]:
        found, frontier = [term_id], [term_id]
        while frontier:
            frontier = [t.id for t in self.terms_by_id.values() if t.parent_id in frontier]
            found += frontier
        return found

    async def term_usage(self, term_id: UUID) -> tuple[int, int]:
        narrower = sum(t.parent_id == term_id for t in self.terms_by_id.values())
        return self.classifies(term_id), narrower

    async def delete_term(self, term_id: UUID) -> bool:
        return self.terms_by_id.pop(term_id, None) is not None

    classifies: Any = staticmethod(lambda term_id: 0)  # set by the unit of work: its programs


class FakeOrganizations:
    def __init__(self) -> None:
        self.rows: dict[UUID, hsds.Organization] = {}

    async def upsert(self, organizations: Sequence[hsds.Organization]) -> None:
        self.rows.update((o.id, o) for o in organizations)

    async def get(self, organization_id: UUID) -> dict[str, Any] | None:
        found = self.rows.get(organization_id)
        return None if found is None else found.model_dump(mode="json", exclude_none=True)


class FakeLocations:
    def __init__(self, services: FakeServices) -> None:
        self.rows: dict[UUID, hsds.Location] = {}
        self._services = services

    async def upsert(self, locations: Sequence[hsds.Location]) -> None:
        self.rows.update((loc.id, loc) for loc in locations)

    async def get(self, location_id: UUID) -> dict[str, Any] | None:
        found = self.rows.get(location_id)
        return None if found is None else found.model_dump(mode="json", exclude_none=True)

    async def usage(self, location_id: UUID) -> int:
        return len(await self._services.embedding(location_id=location_id))

    async def delete(self, location_id: UUID) -> bool:
        return self.rows.pop(location_id, None) is not None


class FakeServices:
    def __init__(self, locations: dict[UUID, hsds.Location] | None = None) -> None:
        self.rows: dict[UUID, StoredService] = {}
        self.locations = {} if locations is None else locations  # those embedded land there too
        self.indexed: dict[UUID, ServiceRow] = {}
        self.analyzed = 0
        self._clock = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    async def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, Current]:
        return {
            i: Current(r.version, r.content_hash, str(r.document["status"]))
            for i in ids
            if (r := self.rows.get(i)) is not None
        }

    async def embedding(
        self,
        *,
        organization_id: UUID | None = None,
        location_id: UUID | None = None,
        term_ids: Sequence[UUID] = (),
    ) -> list[StoredService]:
        def embeds(row: ServiceRow) -> bool:
            service = row.service
            return (
                service.organization.id == organization_id
                or any(sal.location_id == location_id for sal in service.service_at_locations)
                or any(a.taxonomy_term_id in term_ids for a in service.attributes)
            )

        return [self.rows[i] for i, row in sorted(self.indexed.items()) if embeds(row)]

    async def write(self, rows: Sequence[ServiceRow]) -> dict[UUID, tuple[int, datetime]]:
        written = {}
        for row in rows:
            known = self.rows.get(row.service.id)
            version, at = (known.version + 1 if known else 1), self._tick()
            self.rows[row.service.id] = StoredService(
                row.service.id,
                row.document,
                version,
                at,
                row.service.x_bridges.agency_id,
                row.content_hash,
            )
            self.indexed[row.service.id] = row
            written[row.service.id] = (version, at)
            self.locations.update(
                (sal.location.id, sal.location)
                for sal in row.service.service_at_locations
                if sal.location is not None
            )
        return written

    async def get(self, service_id: UUID, *, for_update: bool = False) -> StoredService | None:
        return self.rows.get(service_id)

    async def update_capacity(
        self,
        service_id: UUID,
        document: Mapping[str, Any],
        content_hash: str,
        extension: hsds.BridgesExtension,
    ) -> tuple[int, datetime]:
        known = self.rows[service_id]
        changed = replace(
            known,
            document=document,
            content_hash=content_hash,
            version=known.version + 1,
            last_modified=self._tick(),
        )
        self.rows[service_id] = changed
        return changed.version, changed.last_modified

    async def of_agency(self, agency_id: UUID, *, for_update: bool = False) -> list[StoredService]:
        mine = [s for s in self.rows.values() if s.agency_id == agency_id]
        return sorted(mine, key=lambda s: (s.document["name"], str(s.id)))

    async def capacity_until_due(self, day: date, limit: int) -> list[StoredService]:
        def until(s: StoredService) -> date | None:
            value = s.document.get("x_bridges", {}).get("capacity_until")
            return date.fromisoformat(value) if value else None

        due = [s for s in self.rows.values() if (u := until(s)) is not None and u <= day]
        return due[:limit]

    async def delete(self, service_id: UUID) -> tuple[int, UUID | None] | None:
        known = self.rows.pop(service_id, None)
        self.indexed.pop(service_id, None)
        return None if known is None else (known.version, known.agency_id)

    async def analyze(self) -> None:
        self.analyzed += 1


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[Change] = []

    async def record(self, change: Change) -> None:
        self.entries.append(change)


class FakeReviews:
    def __init__(self, services: FakeServices) -> None:
        self.rows: dict[UUID, ListingReview] = {}
        self._services = services
        self.locked = 0

    async def lock(self) -> None:
        self.locked += 1

    async def agencies_due(
        self, asked_before: datetime, checked_before: date, limit: int
    ) -> list[tuple[UUID, list[date | None]]]:
        asked = {r.agency_id for r in self.rows.values() if r.requested_at > asked_before}
        checked: dict[UUID, list[date | None]] = {}
        for s in self._services.rows.values():
            if s.agency_id is not None and s.agency_id not in asked:
                value = s.document.get("x_bridges", {}).get("last_verified")
                checked.setdefault(s.agency_id, []).append(
                    date.fromisoformat(value) if value else None
                )
        due = [
            (agency, days)
            for agency, days in sorted(checked.items())
            if any(d is None or d < checked_before for d in days)
        ]
        return due[:limit]

    async def add(self, review: ListingReview) -> None:
        self.rows[review.id] = review

    async def get(self, review_id: UUID, *, for_update: bool = False) -> ListingReview | None:
        return self.rows.get(review_id)

    async def confirmed(self, review_id: UUID, at: datetime) -> None:
        self.rows[review_id] = replace(self.rows[review_id], confirmed_at=at)


class FakeUnitOfWork(InMemoryUnitOfWork, DirectoryUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.taxonomy = FakeTaxonomy()
        self.organizations = FakeOrganizations()
        self.services = FakeServices()
        self.locations = FakeLocations(self.services)
        self.services.locations = self.locations.rows
        self.taxonomy.classifies = lambda term_id: sum(
            any(a.taxonomy_term_id == term_id for a in row.service.attributes)
            for row in self.services.indexed.values()
        )
        self.audit = FakeAudit()
        self.reviews = FakeReviews(self.services)

    def repositories(self) -> Iterable[object]:
        return (
            self.taxonomy,
            self.organizations,
            self.locations,
            self.services,
            self.audit,
            self.reviews,
        )


def _names(term: hsds.TaxonomyTerm) -> dict[str, str]:
    """As repository.TERM_NAMES: its own name in its language, then x_bridges.names."""
    own = {term.language or "en": term.name}
    return {**own, **(term.x_bridges.names if term.x_bridges else {})}
