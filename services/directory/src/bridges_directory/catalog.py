"""Directory use cases: write programs (emitting directory events through the outbox) and read them.

Every write goes through `_write`: it validates references, skips services whose content is
unchanged (no new version, no event), bumps the version of the rest and emits one
`service.upserted` per changed service, all in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory import dataset, hsds, indexing, repository
from bridges_kit.auth import Principal
from bridges_kit.outbox import enqueue, enqueue_many
from bridges_schema import (
    SERVICE_CAPACITY_CHANGED,
    SERVICE_DELETED,
    SERVICE_UPSERTED,
    CapacityStatus,
    CloudEvent,
    Role,
    ServiceCapacityChanged,
    ServiceDeleted,
    ServiceUpserted,
    Streams,
    new_event,
)

SOURCE = "/bridges/directory"
IMPORT_BATCH = 500
ANALYZE_AFTER = 1000


class ServiceNotFound(LookupError):
    """No program has this id."""


class OrganizationNotFound(LookupError):
    """No organization has this id."""


class UnknownTaxonomyTerm(ValueError):
    """A service refers to a taxonomy term the directory does not have."""


class IdMismatch(ValueError):
    """The id in the body is not the id in the path."""


class NotYourService(PermissionError):
    """Agency staff may change only their own agency's programs."""


@dataclass(frozen=True)
class StoredService:
    document: dict[str, Any]
    version: int

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@dataclass(frozen=True)
class UpsertResult:
    service: StoredService
    created: bool
    changed: bool
    warnings: Sequence[dataset.DatasetError] = ()  # references kept as given


@dataclass(frozen=True)
class ImportReport:
    services: int
    created: int
    updated: int
    unchanged: int
    taxonomy_terms: int
    warnings: Sequence[dataset.DatasetError] = ()  # references kept as given

    def as_dict(self) -> dict[str, Any]:
        return {
            "services": self.services,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "taxonomy_terms": self.taxonomy_terms,
            "warnings": [w.as_dict() for w in self.warnings[:1000]],
            "warning_count": len(self.warnings),
        }


def _document(service: hsds.Service) -> dict[str, Any]:
    return service.model_dump(mode="json", exclude_none=True, exclude={"last_modified"})


def _content_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _served(document: dict[str, Any], version: int, last_modified: datetime) -> StoredService:
    return StoredService({**document, "last_modified": last_modified.isoformat()}, version)


@dataclass(frozen=True)
class _Outcome:
    created: list[UUID]
    updated: list[UUID]
    written: dict[UUID, tuple[int, datetime]]


async def _write(
    conn: asyncpg.Connection, streams: Streams, services: Sequence[hsds.Service]
) -> _Outcome:
    # terms embedded in attributes come along with their services
    embedded = [
        a.taxonomy_term for s in services for a in s.attributes if a.taxonomy_term is not None
    ]
    await repository.upsert_taxonomy_terms(conn, embedded)
    terms = await repository.terms(conn)
    missing = sorted(
        {str(a.taxonomy_term_id) for s in services for a in s.attributes if a.taxonomy_term_id}
        - set(map(str, terms.lineage))
    )
    if missing:
        raise UnknownTaxonomyTerm("unknown taxonomy term id(s): " + ", ".join(missing))
    current = await repository.current_versions(conn, [s.id for s in services])
    rows = []
    for service in services:
        document = _document(service)
        content_hash = _content_hash(document)
        if service.id in current and current[service.id][1] == content_hash:
            continue
        rows.append(
            repository.ServiceRow(
                service,
                document,
                content_hash,
                indexing.search_fields(service, terms.lineage),
                indexing.opening_slots(service),
            )
        )
    organizations = {r.service.organization.id: r.service.organization for r in rows}
    await repository.upsert_organizations(conn, list(organizations.values()))
    written = await repository.write_services(conn, rows)
    await enqueue_many(
        conn,
        [_upserted_event(r.service, written[r.service.id], terms.codes) for r in rows],
        streams,
    )
    changed = [r.service.id for r in rows]
    return _Outcome(
        created=[i for i in changed if i not in current],
        updated=[i for i in changed if i in current],
        written=written,
    )


def _upserted_event(
    service: hsds.Service, written: tuple[int, datetime], codes: dict[UUID, str]
) -> CloudEvent[ServiceUpserted]:
    version, modified = written
    ext = service.x_bridges
    term_ids = sorted({a.taxonomy_term_id for a in service.attributes if a.taxonomy_term_id})
    return new_event(
        SERVICE_UPSERTED,
        ServiceUpserted(
            service_id=service.id,
            version=version,
            organization_id=service.organization.id,
            organization_name=service.organization.name,
            agency_id=ext.agency_id,
            name=service.name,
            status=service.status,
            accepting_referrals=ext.accepting_referrals,
            capacity_status=ext.capacity_status,
            taxonomy_term_codes=tuple(sorted(codes[t] for t in term_ids if t in codes))[:50],
            last_verified=ext.last_verified,
            modified_at=modified,
        ),
        source=SOURCE,
        subject=str(service.id),
    )


async def upsert_service(
    pool: asyncpg.Pool, streams: Streams, service: hsds.Service
) -> UpsertResult:
    """Create or replace a program; an identical resubmission changes nothing and emits nothing."""
    async with pool.acquire() as conn, conn.transaction():
        references = dataset.check_service(service, await repository.known_references(conn))
        if references.errors:
            raise dataset.InvalidDataset(references.errors, "the service")
        outcome = await _write(conn, streams, [service])
        row = await repository.fetch_service(conn, service.id)
    assert row is not None
    stored = _served(row["document"], row["version"], row["last_modified"])
    return UpsertResult(stored, bool(outcome.created), bool(outcome.written), references.warnings)


async def import_dataset(pool: asyncpg.Pool, streams: Streams, raw: Any) -> ImportReport:
    """All or nothing: every error is listed (with its JSON path) and nothing is written."""
    parsed = dataset.parse(raw)
    async with pool.acquire() as conn, conn.transaction():
        references = dataset.check_references(parsed, await repository.known_references(conn))
        if references.errors:
            raise dataset.InvalidDataset(references.errors)
        await repository.upsert_taxonomies(conn, parsed.taxonomies)
        await repository.upsert_taxonomy_terms(conn, parsed.taxonomy_terms)
        created = updated = 0
        for start in range(0, len(parsed.services), IMPORT_BATCH):
            outcome = await _write(conn, streams, parsed.services[start : start + IMPORT_BATCH])
            created += len(outcome.created)
            updated += len(outcome.updated)
    total = len(parsed.services)
    if created + updated >= ANALYZE_AFTER:  # fresh statistics keep the search plans right
        async with pool.acquire() as conn:
            await repository.analyze(conn)
    return ImportReport(
        total,
        created,
        updated,
        total - created - updated,
        len(parsed.taxonomy_terms),
        references.warnings,
    )


async def export_dataset(pool: asyncpg.Pool) -> AsyncIterator[bytes]:
    """The whole directory as one HSDS JSON object, streamed (re-imports losslessly)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        taxonomies = await repository.all_taxonomies(conn)
        terms = await repository.all_taxonomy_terms(conn)
        yield b'{"taxonomies":' + json.dumps(taxonomies).encode()
        yield b',"taxonomy_terms":' + json.dumps(terms).encode()
        yield b',"services":['
        first = True
        async for document in repository.stream_services(conn):
            yield (b"" if first else b",") + json.dumps(document).encode()
            first = False
        yield b"]}"


async def update_capacity(
    pool: asyncpg.Pool,
    streams: Streams,
    principal: Principal,
    service_id: UUID,
    *,
    accepting_referrals: bool | None,
    capacity_status: CapacityStatus | None,
) -> StoredService:
    """Agency staff of the receiving agency (or an admin) open or close a program to referrals."""
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.fetch_service(conn, service_id, for_update=True)
        if row is None:
            raise ServiceNotFound(f"no service with id {service_id}")
        if principal.role is not Role.ADMIN and (
            principal.agency_id is None or row["agency_id"] != principal.agency_id
        ):
            raise NotYourService("only the receiving agency's staff may change this program")
        document = dict(row["document"])
        ext = dict(document.get("x_bridges", {}))
        if accepting_referrals is not None:
            ext["accepting_referrals"] = accepting_referrals
        if capacity_status is not None:
            ext["capacity_status"] = capacity_status.value
        document["x_bridges"] = ext
        extension = hsds.BridgesExtension.model_validate(ext)
        if document == row["document"]:
            return _served(document, row["version"], row["last_modified"])
        version, modified = await repository.update_capacity(
            conn,
            service_id,
            document,
            _content_hash(document),
            extension.accepting_referrals,
            extension.capacity_status.value,
        )
        await enqueue(
            conn,
            new_event(
                SERVICE_CAPACITY_CHANGED,
                ServiceCapacityChanged(
                    service_id=service_id,
                    version=version,
                    agency_id=row["agency_id"],
                    accepting_referrals=extension.accepting_referrals,
                    capacity_status=extension.capacity_status,
                    changed_at=modified,
                ),
                source=SOURCE,
                subject=str(service_id),
            ),
            streams,
        )
    return _served(document, version, modified)


async def delete_service(pool: asyncpg.Pool, streams: Streams, service_id: UUID) -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.delete_service(conn, service_id)
        if row is None:
            raise ServiceNotFound(f"no service with id {service_id}")
        await enqueue(
            conn,
            new_event(
                SERVICE_DELETED,
                ServiceDeleted(
                    service_id=service_id,
                    version=row["version"] + 1,
                    agency_id=row["agency_id"],
                    deleted_at=datetime.now(UTC),
                ),
                source=SOURCE,
                subject=str(service_id),
            ),
            streams,
        )


async def get_service(pool: asyncpg.Pool, service_id: UUID) -> StoredService:
    async with pool.acquire() as conn:
        row = await repository.fetch_service(conn, service_id)
    if row is None:
        raise ServiceNotFound(f"no service with id {service_id}")
    return _served(row["document"], row["version"], row["last_modified"])


MINIMAL_FIELDS = ("id", "name", "alternate_name", "description", "organization_id", "status")


@dataclass(frozen=True)
class SearchResult:
    page: hsds.Page
    capped: bool  # more matched than a search ranks (repository.CANDIDATE_CAP): narrow it


async def search(
    pool: asyncpg.Pool, query: repository.SearchQuery, *, page: int, minimal: bool = False
) -> SearchResult:
    async with pool.acquire() as conn:
        total, found = await repository.search_services(conn, query)
    contents = []
    for document, distance_km in found:
        item = {k: document[k] for k in MINIMAL_FIELDS if k in document} if minimal else document
        if distance_km is not None:
            item = {
                **item,
                "x_bridges": {
                    **document.get("x_bridges", {}),
                    "distance_km": round(distance_km, 3),
                },
            }
        contents.append(item)
    capped = total >= repository.CANDIDATE_CAP and not query.is_listing
    return SearchResult(hsds.Page.of(contents, total, page, query.limit), capped)


async def organizations(
    pool: asyncpg.Pool, modified_after: datetime | None, page: int, per_page: int
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_organizations(
            conn, modified_after, per_page, (page - 1) * per_page
        )
    return hsds.Page.of(docs, total, page, per_page)


async def organization(pool: asyncpg.Pool, org_id: UUID) -> dict[str, Any]:
    async with pool.acquire() as conn:
        doc = await repository.fetch_organization(conn, org_id)
    if doc is None:
        raise OrganizationNotFound(f"no organization with id {org_id}")
    return doc


async def service_at_locations(
    pool: asyncpg.Pool, modified_after: datetime | None, page: int, per_page: int
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_service_at_locations(
            conn, modified_after, per_page, (page - 1) * per_page
        )
    return hsds.Page.of(docs, total, page, per_page)


async def taxonomies(pool: asyncpg.Pool, page: int, per_page: int) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_taxonomies(conn, per_page, (page - 1) * per_page)
    return hsds.Page.of(docs, total, page, per_page)


async def taxonomy_terms(
    pool: asyncpg.Pool,
    *,
    parent_id: UUID | None,
    taxonomy_id: UUID | None,
    top_only: bool,
    page: int,
    per_page: int,
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_taxonomy_terms(
            conn,
            parent_id=parent_id,
            taxonomy_id=taxonomy_id,
            top_only=top_only,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
    return hsds.Page.of(docs, total, page, per_page)
