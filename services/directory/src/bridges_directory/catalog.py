"""Directory use cases: write programs (emitting directory events through the outbox) and read them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from bridges_directory import hsds, repository
from bridges_kit.outbox import enqueue
from bridges_schema import SERVICE_UPSERTED, ServiceUpserted, Streams, new_event

SOURCE = "/bridges/directory"


class ServiceNotFound(LookupError):
    """No program has this id."""


class OrganizationNotFound(LookupError):
    """No organization has this id."""


class UnknownTaxonomyTerm(ValueError):
    """A service refers to a taxonomy term the directory does not have."""


class IdMismatch(ValueError):
    """The id in the body is not the id in the path."""


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


def _content_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _served(document: dict[str, Any], version: int, last_modified: Any) -> StoredService:
    return StoredService({**document, "last_modified": last_modified.isoformat()}, version)


async def upsert_service(
    pool: asyncpg.Pool, streams: Streams, service: hsds.Service
) -> UpsertResult:
    """Create or replace a program; an identical resubmission changes nothing and emits nothing."""
    document = service.model_dump(mode="json", exclude_none=True, exclude={"last_modified"})
    content_hash = _content_hash(document)
    async with pool.acquire() as conn, conn.transaction():
        for attribute in service.attributes:
            if attribute.taxonomy_term is not None:
                await repository.upsert_taxonomy_term(conn, attribute.taxonomy_term)
        term_ids = sorted({a.taxonomy_term_id for a in service.attributes})
        missing = set(term_ids) - await repository.existing_term_ids(conn, term_ids)
        if missing:
            raise UnknownTaxonomyTerm(
                "unknown taxonomy term id(s): " + ", ".join(sorted(map(str, missing)))
            )
        current = await repository.service_version(conn, service.id)
        if current is not None and current[1] == content_hash:
            row = await repository.fetch_service(conn, service.id)
            assert row is not None
            return UpsertResult(
                _served(row["document"], row["version"], row["last_modified"]), False, False
            )
        await repository.upsert_organization(conn, service.organization)
        version, modified = await repository.write_service(conn, service, document, content_hash)
        ext = service.x_bridges
        event = new_event(
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
                taxonomy_term_codes=tuple(await repository.term_codes(conn, term_ids)),
                last_verified=ext.last_verified,
                modified_at=modified,
            ),
            source=SOURCE,
            subject=str(service.id),
        )
        await enqueue(conn, event, streams)
    return UpsertResult(_served(document, version, modified), current is None, True)


async def get_service(pool: asyncpg.Pool, service_id: UUID) -> StoredService:
    async with pool.acquire() as conn:
        row = await repository.fetch_service(conn, service_id)
    if row is None:
        raise ServiceNotFound(f"no service with id {service_id}")
    return _served(row["document"], row["version"], row["last_modified"])


async def search(
    pool: asyncpg.Pool,
    *,
    text: str | None,
    organization_id: UUID | None,
    taxonomy_term_id: UUID | None,
    page: int,
    per_page: int,
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.search_services(
            conn,
            text=text,
            organization_id=organization_id,
            taxonomy_term_id=taxonomy_term_id,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
    return hsds.Page.of(docs, total, page, per_page)


async def organizations(pool: asyncpg.Pool, page: int, per_page: int) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_organizations(conn, per_page, (page - 1) * per_page)
    return hsds.Page.of(docs, total, page, per_page)


async def organization(pool: asyncpg.Pool, org_id: UUID) -> dict[str, Any]:
    async with pool.acquire() as conn:
        doc = await repository.fetch_organization(conn, org_id)
    if doc is None:
        raise OrganizationNotFound(f"no organization with id {org_id}")
    return doc


async def taxonomy_terms(
    pool: asyncpg.Pool, parent_id: UUID | None, page: int, per_page: int
) -> hsds.Page:
    async with pool.acquire() as conn:
        total, docs = await repository.list_taxonomy_terms(
            conn, parent_id, per_page, (page - 1) * per_page
        )
    return hsds.Page.of(docs, total, page, per_page)


async def load_taxonomy(
    pool: asyncpg.Pool, taxonomy: hsds.Taxonomy, terms: list[hsds.TaxonomyTerm]
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await repository.upsert_taxonomy(conn, taxonomy)
        for term in terms:
            await repository.upsert_taxonomy_term(conn, term)
