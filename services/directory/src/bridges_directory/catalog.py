"""Directory use cases that change programs, each in one unit of work with its events (what
agencies change of their own programs: `listing`).

Every write goes through `write_services`: it skips programs whose content is unchanged (no new
version, no event), bumps the version of the rest and emits one `service.upserted` per changed
program. An import says what it adds, changes and retires (takes out of service), by program.
Each change is in the audit log (`uow.audit`), with who made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bridges_directory import dataset, events, hsds, indexing
from bridges_directory.domain import (
    Change,
    ServiceNotFound,
    ServiceRow,
    StoredService,
    check_unchanged,
    content_hash,
    document_of,
)
from bridges_directory.edits import changes
from bridges_directory.embedding import is_retirement
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition

IMPORT_BATCH = 500
ANALYZE_AFTER = 1000  # changed programs after which an import refreshes planner statistics


@dataclass(frozen=True)
class UpsertResult:
    service: StoredService
    created: bool
    changed: bool
    warnings: Sequence[dataset.DatasetError] = ()  # references kept as given


REPORT_LIST_MAX = 1000  # programs named per list of an import's report (all are counted)


@dataclass(frozen=True)
class Named:
    """A program as a report names it."""

    id: UUID
    name: str
    status: str

    def as_dict(self) -> dict[str, str]:
        return {"id": str(self.id), "name": self.name, "status": self.status}


@dataclass(frozen=True)
class ImportReport:
    services: int
    created: int
    updated: int
    unchanged: int
    taxonomy_terms: int
    warnings: Sequence[dataset.DatasetError] = ()  # references kept as given
    added: Sequence[Named] = ()
    changed: Sequence[Named] = ()
    retired: Sequence[Named] = ()  # changed from active to another HSDS status

    def as_dict(self) -> dict[str, Any]:
        def named(programs: Sequence[Named]) -> list[dict[str, str]]:
            return [p.as_dict() for p in programs[:REPORT_LIST_MAX]]

        return {
            "services": self.services,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired_count": len(self.retired),
            "taxonomy_terms": self.taxonomy_terms,
            "added": named(self.added),
            "changed": named(self.changed),
            "retired": named(self.retired),
            "warnings": [w.as_dict() for w in self.warnings[:1000]],
            "warning_count": len(self.warnings),
        }


@dataclass(frozen=True)
class Outcome:
    """What a write did, by program: created, updated (the retired among them too)."""

    created: list[Named]
    updated: list[Named]
    retired: list[Named]


async def write_services(
    uow: DirectoryUnitOfWork, services: Sequence[hsds.Service], *, reindex: bool = False
) -> Outcome:
    """Write services whose references were checked (see `dataset.check_references`).
    `reindex`: write them even if their content is unchanged (what they are searched by
    changed, e.g. the names of their terms)."""
    # terms embedded in attributes come along with their services
    embedded = [
        a.taxonomy_term for s in services for a in s.attributes if a.taxonomy_term is not None
    ]
    await uow.taxonomy.upsert_terms(embedded)
    terms = await uow.taxonomy.terms()
    current = await uow.services.current_versions([s.id for s in services])
    rows = []
    for service in services:
        document = document_of(service)
        digest = content_hash(document)
        if not reindex and service.id in current and current[service.id].content_hash == digest:
            continue
        rows.append(
            ServiceRow(
                service,
                document,
                digest,
                indexing.search_fields(service, terms.lineage),
                indexing.opening_slots(service),
            )
        )
    organizations = {r.service.organization.id: r.service.organization for r in rows}
    await uow.organizations.upsert(list(organizations.values()))
    written = await uow.services.write(rows)
    for row in rows:
        version, modified = written[row.service.id]
        uow.emit(events.upserted(row.service, version, modified, terms.codes))
    changed = [Named(r.service.id, r.service.name, r.service.status) for r in rows]
    return Outcome(
        created=[p for p in changed if p.id not in current],
        updated=[p for p in changed if p.id in current],
        retired=[
            p for p in changed if p.id in current and is_retirement(current[p.id].status, p.status)
        ],
    )


async def upsert_service(
    uow: DirectoryUnitOfWork,
    service: hsds.Service,
    actor: Principal | None = None,
    condition: VersionCondition | None = None,
) -> UpsertResult:
    """Create or replace a program; an identical resubmission changes nothing and emits nothing.
    With a `condition` (If-Match), only over the version the caller read."""
    async with uow:
        previous = await uow.services.get(service.id, for_update=True)
        check_unchanged(condition, None if previous is None else previous.etag, "the program")
        references = dataset.check_service(service, await uow.taxonomy.known_references())
        if references.errors:
            raise dataset.InvalidDataset(references.errors, "the service")
        outcome = await write_services(uow, [service])
        stored = await uow.services.get(service.id)
        assert stored is not None
        if outcome.created or outcome.updated:
            before = previous.document if previous else {}
            action = "replaced" if previous else "created"
            await uow.audit.record(
                Change.by(
                    actor,
                    action,
                    service_id=service.id,
                    version=stored.version,
                    changes=changes(before, stored.document) if previous else {},
                )
            )
        await uow.commit()
    changed = bool(outcome.created or outcome.updated)
    return UpsertResult(stored, bool(outcome.created), changed, references.warnings)


async def import_dataset(
    uow: DirectoryUnitOfWork, raw: Any, *, dry_run: bool = False, actor: Principal | None = None
) -> ImportReport:
    """All or nothing: every error is listed (with its JSON path) and nothing is written.
    A dry run checks and counts everything as an import would, then writes nothing."""
    parsed = dataset.parse(raw)
    added: list[Named] = []
    changed: list[Named] = []
    retired: list[Named] = []
    async with uow:
        references = dataset.check_references(parsed, await uow.taxonomy.known_references())
        if references.errors:
            raise dataset.InvalidDataset(references.errors)
        await uow.taxonomy.upsert_taxonomies(parsed.taxonomies)
        await uow.taxonomy.upsert_terms(parsed.taxonomy_terms)
        for start in range(0, len(parsed.services), IMPORT_BATCH):
            outcome = await write_services(uow, parsed.services[start : start + IMPORT_BATCH])
            added += outcome.created
            changed += outcome.updated
            retired += outcome.retired
        if not dry_run:  # a dry run leaves the unit of work uncommitted: rolled back
            if added or changed:
                counts = {"created": [None, len(added)], "updated": [None, len(changed)]}
                await uow.audit.record(Change.by(actor, "imported", changes=counts))
            await uow.commit()
    if (
        not dry_run and len(added) + len(changed) >= ANALYZE_AFTER
    ):  # fresh statistics keep the search plans right
        async with uow:
            await uow.services.analyze()
            await uow.commit()
    total = len(parsed.services)
    return ImportReport(
        total,
        len(added),
        len(changed),
        total - len(added) - len(changed),
        len(parsed.taxonomy_terms),
        references.warnings,
        added,
        changed,
        retired,
    )


async def delete_service(
    uow: DirectoryUnitOfWork, service_id: UUID, actor: Principal | None = None
) -> None:
    async with uow:
        removed = await uow.services.delete(service_id)
        if removed is None:
            raise ServiceNotFound(f"no service with id {service_id}")
        version, agency_id = removed
        uow.emit(events.deleted(service_id, version + 1, agency_id, datetime.now(UTC)))
        await uow.audit.record(
            Change.by(actor, "deleted", service_id=service_id, version=version + 1)
        )
        await uow.commit()
