"""Admins keep the directory's organizations, locations and taxonomy terms, each in one unit of
work: a change is checked (If-Match, references, what PostgreSQL can store), written, and every
program embedding the object is rewritten with it (`embedding`), each with its new version, its
`service.upserted` and its entry in the audit log (who, and what changed). An organization is
retired by its programs' HSDS status; a location or a term is removed only once no program
points at it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar
from uuid import UUID

from bridges_directory import dataset, embedding, hsds
from bridges_directory.catalog import Outcome, write_services
from bridges_directory.domain import (
    Change,
    LocationNotFound,
    OrganizationNotFound,
    StillInUse,
    StoredService,
    TermNotFound,
    check_unchanged,
    document_etag,
    document_of,
)
from bridges_directory.edits import changes
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]
Embed = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
Embedded = TypeVar("Embedded", hsds.Organization, hsds.Location)
Held = TypeVar("Held", contravariant=True)


class _Store(Protocol[Held]):
    """Where an object programs embed is kept (`uow.organizations`, `uow.locations`)."""

    async def get(self, object_id: UUID, /) -> dict[str, Any] | None: ...

    async def upsert(self, objects: Sequence[Held], /) -> None: ...


@dataclass(frozen=True)
class Kept:
    """An object as written: its document, its ETag, and how many programs were rewritten."""

    document: dict[str, Any]
    created: bool
    programs: int
    warnings: Sequence[dataset.DatasetError] = ()

    @property
    def etag(self) -> str:
        return document_etag(self.document)


def _etag(document: dict[str, Any] | None) -> str | None:
    return None if document is None else document_etag(document)


def _document(model: hsds.HsdsObject) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _check_text(model: hsds.HsdsObject, what: str) -> None:
    errors = dataset.check_text(model)
    if errors:
        raise dataset.InvalidDataset(errors, what)


async def _rewrite(
    uow: DirectoryUnitOfWork,
    stored: Sequence[StoredService],
    change: Rewrite,
    audited: Change,
    *,
    reindex: bool,
) -> Outcome:
    """The programs `stored` (locked) rewritten by `change`, each written one in the audit log as
    `audited` (the embedding write bumps a locked program's version by one)."""
    services = [hsds.Service.model_validate(change(dict(s.document))) for s in stored]
    outcome = await write_services(uow, services, reindex=reindex)
    written = {p.id for p in outcome.updated}
    for before, after in zip(stored, services, strict=True):
        if before.id in written:
            await uow.audit.record(
                replace(
                    audited,
                    service_id=before.id,
                    version=before.version + 1,
                    changes=changes(before.document, document_of(after)),
                )
            )
    return outcome


async def put_organization(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    organization: hsds.Organization,
    condition: VersionCondition | None,
) -> Kept:
    """Create or replace an organization; its programs embed it as it now is."""
    return await _put_embedded(
        uow,
        actor,
        organization,
        condition,
        lambda u: u.organizations,
        lambda u: u.services.embedding(organization_id=organization.id),
        embedding.with_organization,
    )


async def _put_embedded(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    model: Embedded,
    condition: VersionCondition | None,
    store: Callable[[DirectoryUnitOfWork], _Store[Embedded]],
    embedding_it: Callable[[DirectoryUnitOfWork], Awaitable[list[StoredService]]],
    embed: Embed,
) -> Kept:
    """An organization or a location written over the version read, then every program
    embedding it (`embedding_it`, locked) rewritten with it (`embed`), each in the audit log;
    saved as it is, no program is read or rewritten."""
    kind = "organization" if isinstance(model, hsds.Organization) else "location"
    _check_text(model, f"the {kind}")
    document = _document(model)
    async with uow:
        current = await store(uow).get(model.id)
        check_unchanged(condition, _etag(current), f"the {kind}")
        await store(uow).upsert([model])
        stored = await embedding_it(uow) if current != document else []
        kept = await _kept(uow, current, document, stored, embed, Change.by(actor, kind))
    return kept


async def _kept(
    uow: DirectoryUnitOfWork,
    current: dict[str, Any] | None,
    document: dict[str, Any],
    stored: Sequence[StoredService],
    embed: Embed,
    audited: Change,
    *,
    reindex: bool = False,
    warnings: Sequence[dataset.DatasetError] = (),
) -> Kept:
    """The programs embedding an object rewritten with its new `document`, committed."""
    outcome = await _rewrite(uow, stored, lambda d: embed(d, document), audited, reindex=reindex)
    await uow.commit()
    return Kept(document, current is None, len(outcome.updated), warnings)


async def retire_organization(
    uow: DirectoryUnitOfWork, actor: Principal, organization_id: UUID, status: str
) -> int:
    """Its active programs take `status` (inactive, defunct, temporarily closed): none of them
    can be referred to any more. How many were retired."""
    async with uow:
        if await uow.organizations.get(organization_id) is None:
            raise OrganizationNotFound(f"no organization with id {organization_id}")
        active = [
            s
            for s in await uow.services.embedding(organization_id=organization_id)
            if s.document.get("status") == embedding.ACTIVE
        ]
        outcome = await _rewrite(
            uow,
            active,
            lambda d: embedding.with_status(d, status),
            Change.by(actor, "retired"),
            reindex=False,
        )
        await uow.commit()
    return len(outcome.retired)


async def put_location(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    location: hsds.Location,
    condition: VersionCondition | None,
) -> Kept:
    """Create or replace a location; programs delivered there embed it as it now is (and are
    found near its new point)."""
    return await _put_embedded(
        uow,
        actor,
        location,
        condition,
        lambda u: u.locations,
        lambda u: u.services.embedding(location_id=location.id),
        embedding.with_location,
    )


async def remove_location(
    uow: DirectoryUnitOfWork, location_id: UUID, condition: VersionCondition | None
) -> None:
    async with uow:
        current = await uow.locations.get(location_id)
        if current is None:
            raise LocationNotFound(f"no location with id {location_id}")
        check_unchanged(condition, document_etag(current), "the location")
        programs = await uow.locations.usage(location_id)
        if programs:
            raise StillInUse(
                f"{programs} program(s) are delivered at this location: "
                "move them to another location first"
            )
        await uow.locations.delete(location_id)
        await uow.commit()


async def put_term(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    term: hsds.TaxonomyTerm,
    condition: VersionCondition | None,
) -> Kept:
    """Create or replace a taxonomy term (its code unique in its taxonomy, never its own
    ancestor); the programs classified under it or a narrower term are searched by its new
    names at once (re-indexed, a new version each). A term saved as it is changes no program."""
    document = _document(term)
    async with uow:
        current = await uow.taxonomy.term(term.id)
        check_unchanged(condition, _etag(current), "the term")
        references = dataset.check_term(term, await uow.taxonomy.known_references())
        if references.errors:
            raise dataset.InvalidDataset(references.errors, "the term")
        await uow.taxonomy.upsert_terms([term])
        stored = (
            await uow.services.embedding(term_ids=await uow.taxonomy.subtree(term.id))
            if current != document
            else []
        )
        kept = await _kept(
            uow,
            current,
            document,
            stored,
            embedding.with_term,
            Change.by(actor, "term"),
            reindex=True,
            warnings=references.warnings,
        )
    return kept


async def remove_term(
    uow: DirectoryUnitOfWork, term_id: UUID, condition: VersionCondition | None
) -> None:
    async with uow:
        current = await uow.taxonomy.term(term_id)
        if current is None:
            raise TermNotFound(f"no taxonomy term with id {term_id}")
        check_unchanged(condition, document_etag(current), "the term")
        programs, narrower = await uow.taxonomy.term_usage(term_id)
        if programs or narrower:
            raise StillInUse(
                f"the term classifies {programs} program(s) and has {narrower} narrower "
                "term(s): reclassify them first"
            )
        await uow.taxonomy.delete_term(term_id)
        await uow.commit()
