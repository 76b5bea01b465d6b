"""What agencies change of their own programs, each in one unit of work with its event and its
audit entry: an edit of the listing (a merge patch), the intake (capacity, with an "until" and
a note), "still correct" (the day it was checked), and intakes reopening on their "until" day.
Agency staff reach only their agency's programs (another's is a 404); admins reach any."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from bridges_directory import catalog, dataset, events, freshness, hsds
from bridges_directory.domain import (
    CAPACITY_FIELDS,
    Change,
    ChangesNotAllowed,
    InvalidService,
    ServiceNotFound,
    StoredService,
    capacity_change,
    check_may_change_listing,
    check_version,
    content_hash,
    document_of,
    reopened,
    settle_capacity,
    verified,
)
from bridges_directory.edits import (
    Refused,
    changes,
    merge_patch,
    refused_for_agency,
    without_server_kept,
)
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_schema import Role


def _now() -> datetime:
    return datetime.now(UTC)


async def _own(
    uow: DirectoryUnitOfWork, actor: Principal, service_id: UUID, condition: VersionCondition | None
) -> StoredService:
    stored = await uow.services.get(service_id, for_update=True)
    if stored is None:
        raise ServiceNotFound(f"no service with id {service_id}")
    check_may_change_listing(actor, stored)
    check_version(stored, condition)
    return stored


def _parsed(document: Mapping[str, Any]) -> hsds.Service:
    try:
        return hsds.Service.model_validate(document)
    except ValidationError as exc:
        errors = [
            {"location": ["body", *e["loc"]], "message": e["msg"], "type": e["type"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise InvalidService("the program as changed is not a valid HSDS service", errors) from None


async def _rewrite(
    uow: DirectoryUnitOfWork, stored: StoredService, document: Mapping[str, Any], change: Change
) -> StoredService:
    """Write the changed document as any write is (search fields, hours, the event), with its
    audit entry; nothing when it is unchanged."""
    service = _parsed(document)
    if document_of(service) == stored.document:
        return stored
    found = dataset.check_service(service, await uow.taxonomy.known_references())
    if found.errors:
        raise dataset.InvalidDataset(found.errors, "the program as changed")
    await catalog.write_services(uow, [service])
    written = await uow.services.get(service.id)
    assert written is not None
    await uow.audit.record(
        replace(
            change,
            service_id=service.id,
            version=written.version,
            changes=changes(stored.document, written.document),
        )
    )
    return written


async def edit_service(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    service_id: UUID,
    patch: Mapping[str, Any],
    condition: VersionCondition,
    now: datetime | None = None,
) -> StoredService:
    """Apply a merge patch to a program. Agency staff may change only their listing's details
    (`edits.AGENCY_MAY_CHANGE`; every other changed path is refused, named); saving counts as
    having checked the listing today."""
    async with uow:
        stored = await _own(uow, actor, service_id, condition)
        merged = document_of(_parsed(merge_patch(stored.document, without_server_kept(patch))))
        mentioned = patch.get("x_bridges")
        said = [k for k in CAPACITY_FIELDS if isinstance(mentioned, Mapping) and k in mentioned]
        before = hsds.BridgesExtension.model_validate(stored.document.get("x_bridges", {}))
        today = freshness.local_today(_parsed(stored.document), now or _now())
        merged["x_bridges"] = settle_capacity(before, merged.get("x_bridges", {}), said, today)
        document = document_of(_parsed(merged))
        refused = [Refused(("id",))] if document["id"] != str(service_id) else []
        if actor.role is not Role.ADMIN:
            refused = refused_for_agency(stored.document, document)
        if refused:
            raise ChangesNotAllowed(
                f"{len(refused)} change(s) you may not make; nothing was changed",
                [
                    {"location": ["body", *r.path], "message": r.reason, "type": "not_editable"}
                    for r in refused
                ],
            )
        if actor.role is not Role.ADMIN and document != stored.document:
            document = verified(document, freshness.local_today(_parsed(document), now or _now()))
        written = await _rewrite(uow, stored, document, Change.by(actor, "edited"))
        await uow.commit()
    return written


async def update_capacity(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    service_id: UUID,
    change: Mapping[str, Any],
    condition: VersionCondition | None = None,
    now: datetime | None = None,
) -> StoredService:
    """Staff of the receiving agency (or an admin) open or close a program to referrals, or put
    it on a waitlist, with an optional "until" day and note (`change`: capacity fields, None
    clears one). One `service.capacity_changed`: search and the referrals service follow."""
    async with uow:
        stored = await _own(uow, actor, service_id, condition)
        today = freshness.local_today(_parsed(stored.document), now or _now())
        document = capacity_change(stored.document, change, today)
        written = await _set_capacity(uow, stored, document, Change.by(actor, "capacity"))
        await uow.commit()
    return written


async def _set_capacity(
    uow: DirectoryUnitOfWork, stored: StoredService, document: dict[str, Any], change: Change
) -> StoredService:
    if document == stored.document:
        return stored
    extension = _parsed(document).x_bridges
    digest = content_hash(document)
    version, modified = await uow.services.update_capacity(stored.id, document, digest, extension)
    uow.emit(events.capacity_changed(stored.id, version, stored.agency_id, extension, modified))
    await uow.audit.record(
        replace(
            change,
            service_id=stored.id,
            version=version,
            changes=changes(stored.document, document),
        )
    )
    return StoredService(stored.id, document, version, modified, stored.agency_id, digest)


async def confirm_listing(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    service_id: UUID,
    condition: VersionCondition | None = None,
    now: datetime | None = None,
) -> StoredService:
    """ "Still correct": the program was checked by its agency today."""
    async with uow:
        stored = await _own(uow, actor, service_id, condition)
        today = freshness.local_today(_parsed(stored.document), now or _now())
        written = await _rewrite(
            uow, stored, verified(stored.document, today), Change.by(actor, "confirmed")
        )
        await uow.commit()
    return written


async def confirm_programs(
    uow: DirectoryUnitOfWork, agency_id: UUID, change: Change, now: datetime
) -> list[StoredService]:
    """Every program of an agency checked today (in a unit of work already open)."""
    confirmed = []
    for stored in await uow.services.of_agency(agency_id, for_update=True):
        today = freshness.local_today(_parsed(stored.document), now)
        confirmed.append(await _rewrite(uow, stored, verified(stored.document, today), change))
    return confirmed


async def reopen_due(
    uow: DirectoryUnitOfWork, now: datetime | None = None, batch: int = 200
) -> int:
    """Open again the intakes whose "until" day has come where the program is; how many."""
    at = now or _now()
    reopened_count = 0
    async with uow:
        # a day ahead of UTC's: somewhere the day may have come already (checked per program)
        for stored in await uow.services.capacity_until_due(at.date() + timedelta(days=1), batch):
            service = _parsed(stored.document)
            if not freshness.reopens(service.x_bridges, freshness.local_today(service, at)):
                continue
            await _set_capacity(uow, stored, reopened(stored.document), Change.by(None, "reopened"))
            reopened_count += 1
        await uow.commit()
    return reopened_count
